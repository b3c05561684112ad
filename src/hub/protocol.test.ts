import { describe, expect, it } from 'vitest';
import {
  base64ToBytes,
  bytesToBase64,
  ClientMessageSchema,
  decodeEmbedding,
  encodeEmbedding,
  fromHalf,
  HUB_LIMITS,
  parseEvent,
  toHalf,
  type HubEvent,
} from './protocol';

function unit(dim: number, seed = 1): Float32Array {
  const v = new Float32Array(dim);
  let s = seed;
  for (let i = 0; i < dim; i++) {
    s = (s * 16807) % 2147483647;
    v[i] = s / 2147483647 - 0.5;
  }
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const JPEG = bytesToBase64(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]));

function addEvent(over: Record<string, unknown> = {}, entryOver: Record<string, unknown> = {}): unknown {
  return {
    kind: 'add',
    id: 'ev-1',
    device: 'dev_1',
    at: 1_700_000_000_000,
    entry: {
      id: 'entry-1',
      identity: 'Alice',
      camera: 3,
      cameraName: 'Front door',
      fileName: '0001_c3s1.jpg',
      modelId: 'dare-osnet',
      createdAt: 1_700_000_000_000,
      dim: 8,
      embeddings: { '1': encodeEmbedding(unit(8, 1)), fused: encodeEmbedding(unit(8, 2)) },
      thumbnail: JPEG,
      ...entryOver,
    },
    ...over,
  };
}

describe('float16', () => {
  it('round-trips every float16 bit pattern but NaNs exactly, and NaN stays NaN', () => {
    for (let h = 0; h < 65536; h++) {
      const x = fromHalf(h);
      if (Number.isNaN(x)) expect(Number.isNaN(fromHalf(toHalf(x)))).toBe(true);
      else expect(toHalf(x), `0x${h.toString(16)}`).toBe(h);
    }
  });

  it('rounds to nearest, ties to even, through subnormals, overflow and underflow', () => {
    expect(fromHalf(toHalf(1 + 2 ** -11))).toBe(1); // tie: stays on the even 1.0
    expect(fromHalf(toHalf(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9); // tie: up to even
    expect(fromHalf(toHalf(2 ** -24))).toBe(2 ** -24); // smallest subnormal
    expect(fromHalf(toHalf(3 * 2 ** -26))).toBe(2 ** -24); // 0.75 of it rounds up
    expect(toHalf(2 ** -26)).toBe(0); // a quarter of it flushes to +0
    expect(toHalf(-(2 ** -26))).toBe(0x8000); // and to -0 from below
    expect(fromHalf(toHalf(65504))).toBe(65504);
    expect(fromHalf(toHalf(65520))).toBe(Infinity); // rounds past the largest finite
    expect(fromHalf(toHalf(-Infinity))).toBe(-Infinity);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
  });
});

describe('base64', () => {
  it('round-trips every length and refuses what is not canonical base64', () => {
    for (let n = 0; n < 10; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 13) & 255);
      const s = bytesToBase64(bytes);
      expect(s).toBe(Buffer.from(bytes).toString('base64'));
      expect(base64ToBytes(s)).toEqual(bytes);
    }
    expect(base64ToBytes('abc')).toBeNull();
    expect(base64ToBytes('ab!d')).toBeNull();
    expect(base64ToBytes('a=bc')).toBeNull();
    expect(base64ToBytes('éabc')).toBeNull();
  });

  it('carries embeddings as float16 within float16 precision, and says why a bad one is refused', () => {
    const v = unit(128);
    const back = decodeEmbedding(encodeEmbedding(v), 128);
    if (typeof back === 'string') throw new Error(back);
    for (let i = 0; i < 128; i++) expect(Math.abs(back[i] - v[i])).toBeLessThanOrEqual(Math.abs(v[i]) * 2 ** -11 + 2 ** -25);
    expect(decodeEmbedding(encodeEmbedding(v), 64)).toBe('has 128 values, expected 64');
    expect(decodeEmbedding(encodeEmbedding(v.map((x) => x * 2)), 128)).toMatch(/not L2-normalised/);
    expect(decodeEmbedding(encodeEmbedding(new Float32Array([1, Infinity])), 2)).toBe('holds Infinity at index 1');
    expect(decodeEmbedding('***', 2)).toBe('is not base64');
  });
});

describe('parseEvent', () => {
  it('accepts a valid event of each kind', () => {
    const ok = [
      addEvent(),
      { kind: 'rename', id: 'r', device: 'd', at: 1, entryId: 'entry-1', identity: 'Bob' },
      { kind: 'delete', id: 'x', device: 'd', at: 1, entryId: 'entry-1' },
      { kind: 'sighting', id: 's', device: 'd', at: 1, entryId: 'entry-1', identity: 'Bob', cameraName: 'Hall', distance: 0.7 },
    ];
    for (const raw of ok) expect(typeof parseEvent(raw), JSON.stringify(raw).slice(0, 80)).toBe('object');
    expect((parseEvent(addEvent()) as HubEvent).kind).toBe('add');
  });

  it('refuses bad events with a message naming the field', () => {
    const nan = bytesToBase64(new Uint8Array(16).fill(0xff));
    const cases: [unknown, RegExp][] = [
      [addEvent({}, { embeddings: { fused: encodeEmbedding(unit(7)) } }), /^entry\.embeddings\.fused: has 7 values, expected 8$/],
      [addEvent({}, { embeddings: { fused: nan } }), /^entry\.embeddings\.fused: holds NaN at index 0$/],
      [addEvent({}, { embeddings: { fused: encodeEmbedding(new Float32Array(8).fill(1)) } }), /entry\.embeddings\.fused: is not L2-normalised \(norm 2\.8284\)/],
      [addEvent({}, { thumbnail: bytesToBase64(new Uint8Array(HUB_LIMITS.thumbnailBytes + 1).fill(0xff)) }), /entry\.thumbnail: is larger than 65536 bytes/],
      [addEvent({}, { thumbnail: bytesToBase64(new Uint8Array([0x89, 0x50, 0x4e, 0x47])) }), /entry\.thumbnail: is not a JPEG/],
      [addEvent({ colour: 'red' }), /colour/],
      [addEvent({}, { colour: 'red' }), /entry.*colour/],
      [addEvent({ id: 'has space' }), /^id: only letters, digits, - and _/],
      [addEvent({ id: '' }), /^id:/],
      [addEvent({ device: 'x'.repeat(65) }), /^device:/],
      [addEvent({}, { id: '../../etc' }), /^entry\.id:/],
      [addEvent({}, { dim: 0 }), /entry\.dim/],
      [addEvent({}, { dim: HUB_LIMITS.maxDim + 1 }), /entry\.dim/],
      [addEvent({}, { embeddings: {} }), /entry\.embeddings: needs 1 to 8 stages/],
      [addEvent({}, { embeddings: { five: encodeEmbedding(unit(8)) } }), /^entry\.embeddings\.five: Invalid key/],
      [addEvent({}, { identity: ' ' }), /entry\.identity: is empty/],
      [addEvent({ at: -1 }), /^at:/],
      [addEvent({ at: 1.5 }), /^at:/],
      [{ kind: 'teleport', id: 'x', device: 'd', at: 1 }, /kind/],
      [{ kind: 'sighting', id: 's', device: 'd', at: 1, entryId: 'e', identity: 'B', cameraName: 'H', distance: 5 }, /distance/],
      ['a string', /expected object|Invalid/i],
    ];
    for (const [raw, expected] of cases) expect(parseEvent(raw), JSON.stringify(raw).slice(0, 100)).toMatch(expected);
  });

  it('refuses client messages with unknown fields or too many events', () => {
    expect(ClientMessageSchema.safeParse({ type: 'hello', device: 'd', since: 0 }).success).toBe(true);
    expect(ClientMessageSchema.safeParse({ type: 'hello', device: 'd', since: 0, x: 1 }).success).toBe(false);
    expect(ClientMessageSchema.safeParse({ type: 'hello', device: 'd', since: -1 }).success).toBe(false);
    expect(ClientMessageSchema.safeParse({ type: 'push', events: Array(HUB_LIMITS.eventsPerPush + 1).fill({}) }).success).toBe(false);
  });
});
