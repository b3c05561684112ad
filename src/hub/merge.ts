// The merge rules, defined once for the hub and every device: how a replica's view of the shared gallery
// follows from the events it has seen. The rules make the view a function of the *set* of events, not of
// their order, so replicas that saw the same events agree whatever order they arrived in:
// - an entry is immutable once added (a second add of the same id is ignored);
// - its identity is the rename with the greatest stamp (at, device, id), the add's own identity counting as
//   the first rename: last writer wins;
// - a delete is a tombstone: the entry stays gone, whatever renames or re-adds come after;
// - an event id seen before is a replay and changes nothing.

import type { HubEntry, HubEvent } from './protocol';

export interface Stamp {
  at: number;
  device: string;
  id: string;
}

export function stampOf(event: HubEvent): Stamp {
  return { at: event.at, device: event.device, id: event.id };
}

/** Total order on stamps: time, then device, then event id (so ties between devices are settled the same way everywhere). */
export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.at !== b.at) return a.at - b.at;
  if (a.device !== b.device) return a.device < b.device ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** One entry as the merge rules see it. `entry` is undefined while only renames or a delete of it have
 * arrived (they are kept, so the add that comes later lands in the right state). */
export interface EntryState {
  entryId: string;
  entry?: Omit<HubEntry, 'thumbnail'>;
  identity?: { value: string; stamp: Stamp };
  deleted: Stamp | null;
}

/** What applying an event did, for the replica to act on. */
export type MergeEffect =
  | { kind: 'replay' }
  | { kind: 'ignored'; why: string }
  | { kind: 'added'; entryId: string; identity: string; deleted: boolean }
  | { kind: 'renamed'; entryId: string; identity: string }
  | { kind: 'deleted'; entryId: string }
  | { kind: 'sighting' };

/** A replica's merged view: entries by id, and the event ids already applied. */
export class MergeState {
  private readonly states = new Map<string, EntryState>();
  private readonly seen = new Set<string>();
  private liveCount = 0;
  private deletedCount = 0;

  /** Entries added and not deleted, and entries added then deleted. */
  get counts(): { live: number; deleted: number } {
    return { live: this.liveCount, deleted: this.deletedCount };
  }

  ids(): IterableIterator<string> {
    return this.states.keys();
  }

  entry(entryId: string): EntryState | undefined {
    return this.states.get(entryId);
  }

  /** Takes back states saved from an earlier session (their events are not replayed). */
  restore(states: Iterable<EntryState>): void {
    for (const s of states) {
      const before = this.states.get(s.entryId);
      if (before) this.count(before, -1);
      this.states.set(s.entryId, s);
      this.count(s, 1);
    }
  }

  /** Forgets everything (another hub: what was known of the old one does not apply). */
  reset(): void {
    this.states.clear();
    this.seen.clear();
    this.liveCount = this.deletedCount = 0;
  }

  private count(s: EntryState, sign: 1 | -1): void {
    if (!s.entry) return;
    if (s.deleted) this.deletedCount += sign;
    else this.liveCount += sign;
  }

  hasSeen(eventId: string): boolean {
    return this.seen.has(eventId);
  }

  /** The entry's current identity, or undefined when it is unknown or deleted. */
  identityOf(entryId: string): string | undefined {
    const s = this.states.get(entryId);
    return s?.entry && !s.deleted ? s.identity?.value : undefined;
  }

  /** Live entries (added, not deleted). */
  *live(): IterableIterator<EntryState & { entry: Omit<HubEntry, 'thumbnail'> }> {
    for (const s of this.states.values()) if (s.entry && !s.deleted) yield s as EntryState & { entry: Omit<HubEntry, 'thumbnail'> };
  }

  apply(event: HubEvent): MergeEffect {
    const effect = this.merge(event);
    if (effect.kind === 'added') {
      if (effect.deleted) this.deletedCount++;
      else this.liveCount++;
    } else if (effect.kind === 'deleted') {
      this.liveCount--;
      this.deletedCount++;
    }
    return effect;
  }

  private merge(event: HubEvent): MergeEffect {
    if (this.seen.has(event.id)) return { kind: 'replay' };
    this.seen.add(event.id);
    const stamp = stampOf(event);
    switch (event.kind) {
      case 'sighting':
        return { kind: 'sighting' };
      case 'add': {
        const { thumbnail: _thumbnail, ...entry } = event.entry;
        const state = this.stateOf(entry.id);
        if (state.entry) return { kind: 'ignored', why: `entry ${entry.id} was added before (entries are immutable)` };
        state.entry = entry;
        const own = { value: entry.identity, stamp };
        if (!state.identity || compareStamps(own.stamp, state.identity.stamp) > 0) state.identity = own;
        return { kind: 'added', entryId: entry.id, identity: state.identity.value, deleted: state.deleted !== null };
      }
      case 'rename': {
        const state = this.stateOf(event.entryId);
        if (state.deleted) return { kind: 'ignored', why: `entry ${event.entryId} is deleted` };
        if (state.identity && compareStamps(stamp, state.identity.stamp) <= 0) return { kind: 'ignored', why: 'a later rename won' };
        state.identity = { value: event.identity, stamp };
        return state.entry ? { kind: 'renamed', entryId: event.entryId, identity: event.identity } : { kind: 'ignored', why: `entry ${event.entryId} is not known yet` };
      }
      case 'delete': {
        const state = this.stateOf(event.entryId);
        if (state.deleted) {
          // Keep the earliest tombstone: any one would do, but all replicas must keep the same one.
          if (compareStamps(stamp, state.deleted) < 0) state.deleted = stamp;
          return { kind: 'ignored', why: `entry ${event.entryId} was deleted before` };
        }
        state.deleted = stamp;
        return state.entry ? { kind: 'deleted', entryId: event.entryId } : { kind: 'ignored', why: `entry ${event.entryId} is not known yet` };
      }
    }
  }

  private stateOf(entryId: string): EntryState {
    let s = this.states.get(entryId);
    if (!s) {
      s = { entryId, deleted: null };
      this.states.set(entryId, s);
    }
    return s;
  }
}
