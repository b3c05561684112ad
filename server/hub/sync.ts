// The WebSocket side of the hub (`/hub/sync`): the secret is checked at the upgrade, then each socket is
// one sync session: welcome → hello → pages of the log after the device's `since` → live events, and the
// device's pushes answered with ack/error once stored (docs/hub.md). A message larger than
// HUB_LIMITS.messageBytes makes `ws` close the socket with 1009 (message too big) before it is parsed.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  ClientMessageSchema,
  describeIssues,
  HUB_HEARTBEAT_MS,
  HUB_LIMITS,
  HUB_SUBPROTOCOL,
  HUB_SYNC_PATH,
  parseEvent,
  SECRET_SUBPROTOCOL_PREFIX,
  type HubEvent,
  type SequencedEvent,
  type ServerMessage,
} from '../../src/hub/protocol.ts';
import { secretMatches } from './secret.ts';
import type { AppendOutcome, HubStore } from './store.ts';

export interface SyncServerOptions {
  secret: string;
  store: Pick<HubStore, 'hubId' | 'eventsSince' | 'status'>;
  /** Stores validated events durably (and publishes the stored ones through `broadcast`). */
  ingest(events: HubEvent[]): AppendOutcome[];
  /** How often every socket gets a heartbeat and a ping (default HUB_HEARTBEAT_MS). */
  heartbeatMs?: number;
}

export interface SyncServer {
  /** Takes an upgrade request under /hub/; false when it is not one (it is someone else's). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Sends newly stored events to every session that has caught up. */
  broadcast(events: SequencedEvent[]): void;
  close(): void;
}

interface Session {
  ws: WebSocket;
  device?: string;
  /** The last sequence number sent on this socket. */
  cursor: number;
  /** Caught up: new events are sent as they are stored. */
  live: boolean;
  /** Heard from (a pong or a message) since the last heartbeat. */
  alive: boolean;
}

export function createSyncServer({ secret, store, ingest, heartbeatMs = HUB_HEARTBEAT_MS }: SyncServerOptions): SyncServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: HUB_LIMITS.messageBytes,
    handleProtocols: (protocols) => (protocols.has(HUB_SUBPROTOCOL) ? HUB_SUBPROTOCOL : false),
  });
  const sessions = new Set<Session>();

  // A device that vanished without closing (asleep, off the network) keeps its socket open for minutes:
  // one that answered neither the last ping nor sent anything is dropped. The heartbeat message is what
  // lets the device tell the same of the hub (browsers answer pings but never show them).
  const heartbeat = setInterval(() => {
    for (const session of sessions) {
      if (!session.alive) {
        session.ws.terminate();
        sessions.delete(session);
        continue;
      }
      session.alive = false;
      session.ws.ping();
      void send(session.ws, { type: 'heartbeat' });
    }
  }, heartbeatMs);
  heartbeat.unref();

  const send = (ws: WebSocket, message: ServerMessage) =>
    new Promise<void>((resolve) => {
      if (ws.readyState !== WebSocket.OPEN) return resolve();
      ws.send(JSON.stringify(message), () => resolve());
    });

  /** Pages the log to the session until it has everything, then makes it live, with no gap in between:
   * `live` is set in the same turn as the last page is read, so any later event reaches it by broadcast. */
  const catchUp = async (session: Session) => {
    for (;;) {
      if (session.ws.readyState !== WebSocket.OPEN) return;
      const events = store.eventsSince(session.cursor, HUB_LIMITS.eventsPerPage);
      const head = store.status().head;
      if (events.length) session.cursor = events[events.length - 1].seq;
      const caughtUp = session.cursor >= head;
      if (caughtUp) session.live = true;
      await send(session.ws, { type: 'events', events, head }); // waits for the socket: a slow device is not flooded
      if (caughtUp) return;
    }
  };

  const onPush = (session: Session, raw: unknown[]) => {
    const valid: HubEvent[] = [];
    for (const item of raw) {
      const event = parseEvent(item);
      if (typeof event === 'string') void send(session.ws, { type: 'error', message: `event refused: ${event}`, eventId: eventIdOf(item) });
      else valid.push(event);
    }
    if (!valid.length) return;
    let outcomes: AppendOutcome[];
    try {
      outcomes = ingest(valid);
    } catch (e) {
      void send(session.ws, { type: 'error', message: `the hub could not store the events (none was stored): ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    const ids: string[] = [];
    outcomes.forEach((o, i) => {
      if (o.status === 'refused') void send(session.ws, { type: 'error', message: `event refused: ${o.reason}`, eventId: valid[i].id });
      else ids.push(valid[i].id);
    });
    if (ids.length) void send(session.ws, { type: 'ack', ids });
  };

  const onMessage = (session: Session, data: RawData, isBinary: boolean) => {
    session.alive = true;
    const fail = (message: string) => void send(session.ws, { type: 'error', message });
    if (isBinary) return fail('binary messages are not accepted: send JSON text');
    let json: unknown;
    try {
      json = JSON.parse(rawText(data));
    } catch {
      return fail('message is not JSON');
    }
    const parsed = ClientMessageSchema.safeParse(json);
    if (!parsed.success) return fail(`message refused: ${describeIssues(parsed.error)}`);
    const message = parsed.data;
    if (message.type === 'hello') {
      if (session.device !== undefined) return fail('hello was sent before on this socket');
      session.device = message.device;
      session.cursor = message.since;
      void catchUp(session);
      return;
    }
    if (session.device === undefined) return fail('send hello before push');
    onPush(session, message.events);
  };

  const reject = (socket: Duplex, status: string, message: string) => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
    socket.destroy();
  };

  return {
    handleUpgrade(req, socket, head) {
      const path = new URL(req.url ?? '/', 'http://hub').pathname;
      if (!path.startsWith('/hub/')) return false;
      const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      const offered = protocols.find((p) => p.startsWith(SECRET_SUBPROTOCOL_PREFIX))?.slice(SECRET_SUBPROTOCOL_PREFIX.length);
      if (!secretMatches(secret, offered)) reject(socket, '401 Unauthorized', 'the hub needs its secret (open the join link)');
      else if (path !== HUB_SYNC_PATH) reject(socket, '404 Not Found', 'no such hub endpoint');
      else if (!protocols.includes(HUB_SUBPROTOCOL)) reject(socket, '400 Bad Request', `the hub speaks ${HUB_SUBPROTOCOL}`);
      else
        wss.handleUpgrade(req, socket, head, (ws) => {
          const session: Session = { ws, cursor: 0, live: false, alive: true };
          sessions.add(session);
          ws.on('pong', () => (session.alive = true));
          ws.on('message', (data, isBinary) => onMessage(session, data, isBinary));
          ws.on('close', () => sessions.delete(session));
          ws.on('error', () => sessions.delete(session));
          void send(ws, { type: 'welcome', hubId: store.hubId, head: store.status().head });
        });
      return true;
    },
    broadcast(events) {
      if (!events.length) return;
      const head = events[events.length - 1].seq;
      for (const session of sessions) {
        if (!session.live) continue;
        session.cursor = head;
        void send(session.ws, { type: 'events', events, head });
      }
    },
    close() {
      clearInterval(heartbeat);
      for (const { ws } of sessions) ws.terminate();
      sessions.clear();
      wss.close();
    },
  };
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString('utf8');
}

function eventIdOf(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || !('id' in raw)) return undefined;
  const { id } = raw;
  return typeof id === 'string' && id.length <= 64 ? id : undefined;
}
