// The hub: one secret, one store, its vector index, the WebSocket sync and the HTTP endpoints, mounted on
// any Node HTTP server through handleRequest/handleUpgrade (server/serve.ts mounts it on Vite's preview).
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { HubEvent, SequencedEvent } from '../../src/hub/protocol.ts';
import { createHttpHandler } from './http.ts';
import { loadOrCreateSecret } from './secret.ts';
import { openSqliteHubStore } from './store.ts';
import { createSyncServer } from './sync.ts';
import { VectorIndex } from './vectorIndex.ts';

export interface Hub {
  secret: string;
  hubId: string;
  /** The SQLite file the hub keeps its data in. */
  file: string;
  /** Answers a request under /hub/; false for any other path. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Takes an upgrade under /hub/; false for any other path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Closes every socket and the database. */
  close(): void;
}

export interface HubOptions {
  dir: string;
  /** How often the hub heartbeats and pings every socket (default HUB_HEARTBEAT_MS; tests shorten it). */
  heartbeatMs?: number;
}

export function createHub({ dir, heartbeatMs }: HubOptions): Hub {
  mkdirSync(dir, { recursive: true });
  const secret = loadOrCreateSecret(dir);
  const file = join(dir, 'hub.sqlite');
  const store = openSqliteHubStore(file);
  const index = new VectorIndex(store);

  const ingest = (events: HubEvent[]) => {
    const outcomes = store.append(events);
    const stored: SequencedEvent[] = [];
    outcomes.forEach((o, i) => {
      if (o.status !== 'stored') return;
      const event = events[i];
      if (event.kind === 'add') {
        // An add whose tombstone came first stays out of the index.
        if (store.identityOf(event.entry.id) !== undefined) index.added(event.entry);
        const { thumbnail: _thumbnail, ...entry } = event.entry;
        stored.push({ ...event, entry, seq: o.seq });
      } else {
        if (event.kind === 'delete') index.deleted(event.entryId);
        stored.push({ ...event, seq: o.seq });
      }
    });
    sync.broadcast(stored);
    return outcomes;
  };
  const sync = createSyncServer({ secret, store, ingest, heartbeatMs });
  const handleRequest = createHttpHandler({ secret, store, index });

  return {
    secret,
    hubId: store.hubId,
    file,
    handleRequest,
    handleUpgrade: (req, socket, head) => sync.handleUpgrade(req, socket, head),
    close() {
      sync.close();
      store.close();
    },
  };
}
