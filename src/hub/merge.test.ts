import { describe, expect, it } from 'vitest';
import { compareStamps, MergeState } from './merge';
import type { HubEvent } from './protocol';

const entry = (id: string, identity = `person ${id}`) => ({
  id,
  identity,
  camera: null,
  cameraName: 'Door',
  fileName: `${id}.jpg`,
  modelId: 'm',
  createdAt: 1,
  dim: 2,
  embeddings: { fused: 'ADwAAA==' },
});
const add = (id: string, at: number, device = 'a', identity?: string): HubEvent => ({ kind: 'add', id: `add-${id}-${device}-${at}`, device, at, entry: entry(id, identity) });
const rename = (eventId: string, entryId: string, identity: string, at: number, device = 'a'): HubEvent => ({ kind: 'rename', id: eventId, device, at, entryId, identity });
const del = (eventId: string, entryId: string, at: number, device = 'a'): HubEvent => ({ kind: 'delete', id: eventId, device, at, entryId });

function view(state: MergeState) {
  return Object.fromEntries([...state.ids()].sort().map((id) => [id, state.identityOf(id) ?? null]));
}

function merged(events: HubEvent[]): MergeState {
  const state = new MergeState();
  for (const e of events) state.apply(e);
  return state;
}

function* permutations<T>(items: T[]): Generator<T[]> {
  if (items.length <= 1) return yield items;
  for (let i = 0; i < items.length; i++) for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i], ...rest];
}

describe('MergeState', () => {
  it('keeps the rename with the latest stamp, whatever the arrival order', () => {
    const events = [add('e', 1), rename('r1', 'e', 'Bob', 5), rename('r2', 'e', 'Carol', 3)];
    expect(merged(events).identityOf('e')).toBe('Bob');
    expect(merged([...events].reverse()).identityOf('e')).toBe('Bob');
  });

  it('settles ties in time by device, then by event id', () => {
    expect(merged([add('e', 1), rename('r1', 'e', 'from b', 5, 'b'), rename('r2', 'e', 'from a', 5, 'a')]).identityOf('e')).toBe('from b');
    expect(merged([add('e', 1), rename('r9', 'e', 'nine', 5, 'a'), rename('r1', 'e', 'one', 5, 'a')]).identityOf('e')).toBe('nine');
    expect(compareStamps({ at: 5, device: 'a', id: 'x' }, { at: 5, device: 'a', id: 'x' })).toBe(0);
  });

  it('counts the add as the first rename: an older rename does not override it', () => {
    expect(merged([add('e', 10, 'a', 'Added'), rename('r', 'e', 'Older', 5)]).identityOf('e')).toBe('Added');
    expect(merged([rename('r', 'e', 'Older', 5), add('e', 10, 'a', 'Added')]).identityOf('e')).toBe('Added');
    expect(merged([rename('r', 'e', 'Newer', 15), add('e', 10, 'a', 'Added')]).identityOf('e')).toBe('Newer');
  });

  it('counts live and deleted entries whatever the order, across a restore and a reset', () => {
    const events = [add('e', 1), add('f', 2), del('d', 'e', 3), del('d2', 'g', 4)];
    for (const order of permutations(events)) expect(merged(order).counts).toEqual({ live: 1, deleted: 1 });
    const saved = merged(events);
    const restored = new MergeState();
    restored.restore([...saved.ids()].map((id) => saved.entry(id)!));
    expect(restored.counts).toEqual({ live: 1, deleted: 1 });
    restored.reset();
    expect(restored.counts).toEqual({ live: 0, deleted: 0 });
    expect(restored.apply(add('e', 1))).toMatchObject({ kind: 'added' });
  });

  it('lets a tombstone beat later renames and re-adds', () => {
    const state = merged([add('e', 1), del('d', 'e', 2)]);
    expect(state.apply(rename('r', 'e', 'Back', 100))).toEqual({ kind: 'ignored', why: 'entry e is deleted' });
    expect(state.apply(add('e', 200, 'b'))).toMatchObject({ kind: 'ignored' });
    expect(state.identityOf('e')).toBeUndefined();
    expect([...state.live()]).toEqual([]);
    const early = merged([del('d', 'e', 2), add('e', 1)]);
    expect(early.apply(add('e', 1))).toEqual({ kind: 'replay' });
    expect(early.identityOf('e')).toBeUndefined();
  });

  it('treats a replayed event id as a no-op', () => {
    const state = merged([add('e', 1), rename('r', 'e', 'Bob', 5)]);
    expect(state.apply(rename('r', 'e', 'Bob', 5))).toEqual({ kind: 'replay' });
    expect(state.apply(rename('r', 'e', 'Other', 50))).toEqual({ kind: 'replay' });
    expect(state.identityOf('e')).toBe('Bob');
    expect(state.hasSeen('r')).toBe(true);
  });

  it('converges to the same view for every permutation of a small event set', () => {
    const events = [
      add('e', 1),
      add('f', 2, 'b'),
      rename('r1', 'e', 'Ann', 5, 'a'),
      rename('r2', 'e', 'Ben', 5, 'b'),
      rename('r3', 'f', 'Cat', 3),
      del('d1', 'f', 4, 'b'),
      rename('r4', 'f', 'Dan', 9),
    ];
    const expected = view(merged(events));
    expect(expected).toEqual({ e: 'Ben', f: null });
    let count = 0;
    for (const order of permutations(events)) {
      const state = merged([...order, order[0]]); // with a replay too
      expect(view(state)).toEqual(expected);
      expect(state.entry('f')?.deleted).toEqual({ at: 4, device: 'b', id: 'd1' });
      count++;
    }
    expect(count).toBe(5040);
  });
});
