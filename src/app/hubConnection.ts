// One device's WebSocket to the hub, kept open: it connects with the secret, reconnects after a loss with
// capped exponential backoff and jitter, tells a refused secret from an unreachable hub, and hands every
// message from the hub, one at a time and in order, to the service (src/app/hubService.ts).
import { HUB } from '../config';
import { HUB_PATH, HUB_SUBPROTOCOL, HUB_SYNC_PATH, SECRET_SUBPROTOCOL_PREFIX, type ClientMessage, type ServerMessage } from '../hub/protocol';

export const REFUSED_SECRET = "The hub refused this device's secret: open the join link again";
export const UNREACHABLE = 'The hub is unreachable; changes are kept and sync when it is back';

export interface HubTransport {
  /** The browser's WebSocket, or (in Node) `ws`'s. */
  WebSocket: typeof WebSocket;
  fetch: typeof fetch;
  /** Where the hub is: the page's origin, or an absolute http(s) URL in Node. */
  baseUrl: string;
  random?: () => number;
  /** Silence from the hub after which the socket counts as lost (default HUB.heartbeatTimeoutMs). */
  heartbeatTimeoutMs?: number;
}

export type SocketStatus = { kind: 'connecting' } | { kind: 'open' } | { kind: 'offline'; problem: string; retrying: boolean };

export interface HubConnectionHandlers {
  status(status: SocketStatus): void;
  /** Every message of the hub, awaited before the next is handed over. */
  message(message: ServerMessage): Promise<void>;
}

/** The hub's address for `path` (under `baseUrl`). */
export function hubUrl(baseUrl: string, path: string): string {
  return new URL(path, baseUrl).href;
}

export class HubConnection {
  private socket: WebSocket | null = null;
  private secret: string | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  private queue: Promise<void> = Promise.resolve();
  /** Bumped on every connect and disconnect: events of an older socket are ignored. */
  private generation = 0;

  constructor(
    private readonly transport: HubTransport,
    private readonly handlers: HubConnectionHandlers,
  ) {}

  get open(): boolean {
    return this.socket !== null && this.socket.readyState === this.transport.WebSocket.OPEN;
  }

  connect(secret: string): void {
    this.disconnect();
    this.secret = secret;
    this.attempt = 0;
    this.dial();
  }

  /** Closes the socket and stops reconnecting. */
  disconnect(): void {
    this.generation++;
    this.secret = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopWatchdog();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'leaving');
  }

  /** Drops the socket (the hub answered something the device cannot go on from) and reconnects later. */
  restart(): void {
    this.socket?.close(4000, 'restart');
  }

  send(message: ClientMessage): boolean {
    if (!this.open) return false;
    this.socket!.send(JSON.stringify(message));
    return true;
  }

  private dial(): void {
    const secret = this.secret;
    if (secret === null) return;
    const generation = ++this.generation;
    const url = hubUrl(this.transport.baseUrl, HUB_SYNC_PATH).replace(/^http/, 'ws');
    this.handlers.status({ kind: 'connecting' });
    let opened = false;
    let socket: WebSocket;
    try {
      socket = new this.transport.WebSocket(url, [HUB_SUBPROTOCOL, SECRET_SUBPROTOCOL_PREFIX + secret]);
    } catch {
      void this.lost(generation, false);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (generation !== this.generation) return;
      opened = true;
      this.attempt = 0;
      this.watch(generation, socket);
      this.handlers.status({ kind: 'open' });
    };
    socket.onmessage = (event: MessageEvent) => {
      if (generation !== this.generation) return;
      this.watch(generation, socket);
      let message: ServerMessage;
      try {
        message = JSON.parse(String(event.data)) as ServerMessage;
      } catch {
        return; // the hub only sends JSON; anything else is not from it
      }
      this.queue = this.queue.then(() => (generation === this.generation ? this.handlers.message(message) : undefined)).catch(() => undefined);
    };
    // Browsers give no reason for a failed upgrade: the close after it is all there is.
    socket.onerror = () => undefined;
    socket.onclose = () => {
      if (generation !== this.generation) return;
      this.socket = null;
      this.stopWatchdog();
      void this.lost(generation, opened);
    };
  }

  /** (Re)arms the silence timer of the open socket. When it fires, the socket is given up at once: its close
   * handshake cannot finish with a peer that is gone, and the browser may take minutes to say so. */
  private watch(generation: number, socket: WebSocket): void {
    this.stopWatchdog();
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      if (generation !== this.generation) return;
      const next = ++this.generation; // the old socket's late events are ignored from here on
      this.socket = null;
      socket.close(4001, 'heartbeat lost');
      void this.lost(next, true);
    }, this.transport.heartbeatTimeoutMs ?? HUB.heartbeatTimeoutMs);
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
  }

  /** After a socket was lost: says why, and dials again later unless the secret was refused. */
  private async lost(generation: number, wasOpen: boolean): Promise<void> {
    const refused = !wasOpen && (await this.secretRefused());
    if (generation !== this.generation) return;
    this.handlers.status({ kind: 'offline', problem: refused ? REFUSED_SECRET : UNREACHABLE, retrying: !refused });
    if (refused) return; // the secret will not become right by itself: the join link starts again
    const base = Math.min(HUB.reconnectMaxMs, HUB.reconnectInitialMs * 2 ** this.attempt++);
    const jitter = 1 + HUB.reconnectJitter * (2 * (this.transport.random ?? Math.random)() - 1);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (generation === this.generation) this.dial();
    }, base * jitter);
  }

  /** Asks the hub over HTTP whether it knows the secret (a WebSocket refused at the upgrade says nothing). */
  private async secretRefused(): Promise<boolean> {
    try {
      const res = await this.transport.fetch(hubUrl(this.transport.baseUrl, `${HUB_PATH}status`), { headers: { Authorization: `Bearer ${this.secret}` } });
      return res.status === 401;
    } catch {
      return false;
    }
  }
}
