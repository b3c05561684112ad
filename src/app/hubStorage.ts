// What a device keeps of the hub, in IndexedDB (idb-keyval) in a database of its own: who it is (device id,
// camera name), the secret, the hub it last synced with and the last hub sequence number applied (`since`),
// its own events not yet acknowledged (the outbox), the merge state of every shared entry (so last-writer-
// wins still holds after a reload) and the sightings. One key per record, so a page of events is written in
// one transaction together with its `since`: a crash between two pages re-applies the second, never skips it.
import { createStore, entries, promisifyRequest, type UseStore } from 'idb-keyval';
import type { HubEvent } from '../hub/protocol';
import type { EntryState } from '../hub/merge';

export const HUB_DB = 'anytime-reid-hub';
const HUB_STORE = 'hub';

export interface HubDevice {
  deviceId: string;
  cameraName: string;
}

export interface HubSighting {
  id: string;
  identity: string;
  entryId: string;
  cameraName: string;
  device: string;
  at: number;
  distance: number;
}

/** An own event waiting for the hub's ack; `order` keeps the outbox in the order the events were made. */
export interface OutboxItem {
  order: number;
  event: HubEvent;
}

export interface StoredHub {
  device?: HubDevice;
  secret?: string;
  hubId?: string;
  since: number;
  outbox: OutboxItem[];
  /** Merge states; an entry's embeddings are not kept here (the gallery has them). */
  merge: EntryState[];
  sightings: HubSighting[];
}

/** One write, applied in one transaction. */
export interface HubWrite {
  device?: HubDevice;
  /** null forgets it. */
  secret?: string | null;
  hubId?: string;
  since?: number;
  outboxPut?: readonly OutboxItem[];
  outboxDelete?: readonly string[];
  merge?: readonly EntryState[];
  sightingsPut?: readonly HubSighting[];
  sightingsDelete?: readonly string[];
  /** Forget everything of the hub synced with before (since, merge states, sightings) before this write. */
  resetShared?: boolean;
}

export interface HubStorage {
  load(): Promise<StoredHub>;
  write(w: HubWrite): Promise<void>;
}

const KEY = { device: 'device', secret: 'secret', hubId: 'hubId', since: 'since' } as const;
const OUTBOX = 'o:';
const MERGE = 'm:';
const SIGHTING = 's:';

/** Drops the embeddings of a merge state's entry (they are megabytes at scale, and the gallery has them). */
function slim(state: EntryState): EntryState {
  return state.entry ? { ...state, entry: { ...state.entry, embeddings: {} } } : state;
}

export function openHubStorage(dbName = HUB_DB): HubStorage {
  const store: UseStore = createStore(dbName, HUB_STORE);
  return {
    async load() {
      const loaded: StoredHub = { since: 0, outbox: [], merge: [], sightings: [] };
      for (const [key, value] of await entries<IDBValidKey, unknown>(store)) {
        const k = String(key);
        if (k === KEY.device) loaded.device = value as HubDevice;
        else if (k === KEY.secret) loaded.secret = value as string;
        else if (k === KEY.hubId) loaded.hubId = value as string;
        else if (k === KEY.since) loaded.since = value as number;
        else if (k.startsWith(OUTBOX)) loaded.outbox.push(value as OutboxItem);
        else if (k.startsWith(MERGE)) loaded.merge.push(value as EntryState);
        else if (k.startsWith(SIGHTING)) loaded.sightings.push(value as HubSighting);
      }
      loaded.outbox.sort((a, b) => a.order - b.order);
      return loaded;
    },
    write(w) {
      return store('readwrite', (os) => {
        const tx = os.transaction;
        try {
          if (w.resetShared) {
            os.delete(KEY.since);
            os.delete(KEY.hubId);
            for (const prefix of [MERGE, SIGHTING]) os.delete(IDBKeyRange.bound(prefix, `${prefix}\uffff`));
          }
          if (w.device) os.put(w.device, KEY.device);
          if (w.secret === null) os.delete(KEY.secret);
          else if (w.secret !== undefined) os.put(w.secret, KEY.secret);
          if (w.hubId !== undefined) os.put(w.hubId, KEY.hubId);
          if (w.since !== undefined) os.put(w.since, KEY.since);
          for (const item of w.outboxPut ?? []) os.put(item, OUTBOX + item.event.id);
          for (const id of w.outboxDelete ?? []) os.delete(OUTBOX + id);
          for (const state of w.merge ?? []) os.put(slim(state), MERGE + state.entryId);
          for (const s of w.sightingsPut ?? []) os.put(s, SIGHTING + s.id);
          for (const id of w.sightingsDelete ?? []) os.delete(SIGHTING + id);
        } catch (e) {
          tx.abort();
          throw e;
        }
        return promisifyRequest(tx);
      });
    },
  };
}
