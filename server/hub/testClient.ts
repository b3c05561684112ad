// A real `ws` client speaking the hub protocol, for the hub's tests: every message it receives is queued
// and awaited by type.
import { WebSocket } from 'ws';
import { HUB_SUBPROTOCOL, HUB_SYNC_PATH, SECRET_SUBPROTOCOL_PREFIX, type ServerMessage } from '../../src/hub/protocol.ts';

export class HubTestClient {
  private readonly received: ServerMessage[] = [];
  private waiting: (() => void) | undefined;
  closeCode: number | undefined;
  /** Bytes of every message received so far, as sent. */
  bytesReceived = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = String(data);
      this.bytesReceived += text.length;
      this.received.push(JSON.parse(text) as ServerMessage);
      this.waiting?.();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.waiting?.();
    });
  }

  /** Opens a socket; rejects with the HTTP status when the hub refuses the upgrade. `answerPings: false`
   * makes a client that has vanished without closing, as far as the hub can tell. */
  static open(origin: string, protocols: string[], { answerPings = true } = {}): Promise<HubTestClient> {
    const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}${HUB_SYNC_PATH}`, protocols, { autoPong: answerPings });
    const client = new HubTestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  static connect(origin: string, secret: string, options?: { answerPings?: boolean }): Promise<HubTestClient> {
    return HubTestClient.open(origin, [HUB_SUBPROTOCOL, `${SECRET_SUBPROTOCOL_PREFIX}${secret}`], options);
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next received message of `type` (earlier ones of other types stay queued). */
  async next<T extends ServerMessage['type']>(type: T, timeoutMs = 10_000): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.received.findIndex((m) => m.type === type);
      if (at >= 0) return this.received.splice(at, 1)[0] as Extract<ServerMessage, { type: T }>;
      if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode}) while waiting for ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Sends hello and collects the pages until caught up; returns the events they carried. */
  async sync(device: string, since: number) {
    this.send({ type: 'hello', device, since });
    const events = [];
    for (;;) {
      const page = await this.next('events');
      events.push(...page.events);
      if ((page.events.at(-1)?.seq ?? since) >= page.head) return { events, head: page.head };
    }
  }

  /** Messages received and not yet taken. */
  pending(): ServerMessage[] {
    return [...this.received];
  }

  close(): void {
    this.ws.close();
  }
}
