// HubConnection against real sockets: a real hub (server/hub) with a short heartbeat, and a `ws` server
// that accepts the socket and then says nothing, as a hub on a dead network path looks to a device.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
import { createHub, type Hub } from '../../server/hub/index';
import { HUB_SUBPROTOCOL, type ServerMessage } from '../hub/protocol';
import { HubConnection, UNREACHABLE, type SocketStatus } from './hubConnection';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function device(baseUrl: string, heartbeatTimeoutMs: number) {
  const statuses: SocketStatus['kind'][] = [];
  const problems: string[] = [];
  const messages: ServerMessage['type'][] = [];
  const connection = new HubConnection(
    { WebSocket: NodeWebSocket as unknown as typeof WebSocket, fetch, baseUrl, heartbeatTimeoutMs, random: () => 0.5 },
    {
      status: (s) => {
        statuses.push(s.kind);
        if (s.kind === 'offline') problems.push(s.problem);
      },
      message: async (m) => void messages.push(m.type),
    },
  );
  cleanups.push(() => connection.disconnect());
  return { connection, statuses, problems, messages };
}

const until = async (what: string, done: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('HubConnection heartbeat', () => {
  it('stays open while the hub heartbeats, for many times the silence it tolerates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-heartbeat-'));
    const hub: Hub = createHub({ dir, heartbeatMs: 50 });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => hub.close());
    const server = createServer((req, res) => void (hub.handleRequest(req, res) || res.writeHead(404).end()));
    server.on('upgrade', (req, socket, head) => void (hub.handleUpgrade(req, socket, head) || socket.destroy()));
    const { connection, statuses, messages } = device(await listen(server), 200);
    connection.connect(hub.secret);
    await until('the socket to open', () => connection.open);
    await new Promise((r) => setTimeout(r, 1000)); // five times the tolerated silence
    expect(connection.open).toBe(true);
    expect(statuses).toEqual(['connecting', 'open']);
    expect(messages.filter((m) => m === 'heartbeat').length).toBeGreaterThanOrEqual(10);
  });

  it('gives up a socket the hub stopped talking on, says the hub is unreachable, and dials again', async () => {
    const server = createServer();
    const silent = new WebSocketServer({ server, handleProtocols: (p) => (p.has(HUB_SUBPROTOCOL) ? HUB_SUBPROTOCOL : false) });
    let accepted = 0;
    silent.on('connection', () => accepted++); // and never a word
    cleanups.push(() => silent.close());
    const { connection, statuses, problems } = device(await listen(server), 200);
    const t0 = Date.now();
    connection.connect('0'.repeat(64));
    await until('the socket to open', () => connection.open);
    await until('the silence to count as a loss', () => statuses.includes('offline'));
    const lostAfter = Date.now() - t0;
    expect(lostAfter).toBeGreaterThanOrEqual(200);
    expect(lostAfter).toBeLessThan(2000);
    expect(problems[0]).toBe(UNREACHABLE);
    expect(connection.open).toBe(false);
    await until('a second dial', () => accepted >= 2);
    expect(statuses.slice(0, 4)).toEqual(['connecting', 'open', 'offline', 'connecting']);
  });
});
