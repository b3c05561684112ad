// The hub's wire protocol, defined once for the hub (server/) and the app's hub client (src/app/hub*):
// the events devices exchange, the messages that carry them, and the limits every message is held to.
// Everything that crosses the wire is parsed with these schemas: unknown fields, wrong types, NaN and
// oversized values are refused with a message that says which field and why.
//
// Transport: one WebSocket per device at `/hub/sync` (JSON text frames), plus plain HTTP under `/hub/`
// (thumbnails, status, search). Every endpoint needs the hub's secret: HTTP as `Authorization: Bearer
// <secret>`, the WebSocket (browsers cannot set its headers) as the subprotocol `secret.<secret>` next to
// HUB_SUBPROTOCOL. docs/hub.md walks through a session.

import { z } from 'zod';
import { STAGE_KEY_PATTERN } from '../engine/stages';

/** The WebSocket subprotocol of this version of the protocol (the hub echoes it when it accepts). */
export const HUB_SUBPROTOCOL = 'anytime-reid-hub.1';
/** Prefix of the subprotocol that carries the secret. */
export const SECRET_SUBPROTOCOL_PREFIX = 'secret.';
/** Where the hub lives on the app's origin. */
export const HUB_PATH = '/hub/';
export const HUB_SYNC_PATH = '/hub/sync';
/** The join link carries the secret in the URL fragment (never sent to a server, nor logged): `#hub=<secret>`. */
export const JOIN_FRAGMENT_KEY = 'hub';

/** The hub sends a heartbeat this often on every socket (and pings it: a device that answers nothing for
 * two of them is dropped); a device that hears nothing for HUB.heartbeatTimeoutMs takes the hub for gone. */
export const HUB_HEARTBEAT_MS = 15_000;

export const HUB_LIMITS = {
  /** A secret is 32 random bytes, hex. */
  secretHexChars: 64,
  /** One WebSocket message, as received (the hub closes the socket on a larger one). */
  messageBytes: 2 * 1024 * 1024,
  /** A thumbnail, decoded (a 256×128 JPEG is ~10 KB). */
  thumbnailBytes: 64 * 1024,
  /** Events in one push. */
  eventsPerPush: 100,
  /** Events in one page the hub sends. */
  eventsPerPage: 500,
  /** Embedding length. */
  maxDim: 2048,
  /** Stages (exits plus fused) in one entry. */
  maxStages: 8,
  identityChars: 120,
  fileNameChars: 300,
  cameraNameChars: 80,
  idChars: 64,
  modelIdChars: 400,
  /** A float16 L2-normalised vector's norm is 1 within ~1e-3; further off it was damaged or never normalised. */
  normTolerance: 1e-2,
  /** Search results per request. */
  maxK: 100,
} as const;

// ---- float16 on the wire ------------------------------------------------------------------------------

/** Rounds a float32 to the nearest float16 (IEEE 754 binary16, round-half-even), as its 16 bits. */
export function toHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half; // a carry into the exponent is the correct rounding (up to Inf)
}

/** The float32 value of float16 bits. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function encodeHalfs(v: Float32Array): Uint16Array {
  const out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = toHalf(v[i]);
  return out;
}

export function decodeHalfs(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = fromHalf(h[i]);
  return out;
}

// ---- base64 (browsers and Node alike; no Buffer) --------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < bytes.length ? B64[n & 63] : '=');
  }
  return out;
}

/** The bytes of canonical base64 (padding required), or null when `s` is not that. */
export function base64ToBytes(s: string): Uint8Array | null {
  if (s.length % 4 !== 0) return null;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      const last = i + 4 === s.length;
      if (c === 61 /* = */ && last && j >= 4 - pad) {
        n <<= 6;
        continue;
      }
      const v = c < 128 ? B64_INDEX[c] : -1;
      if (v < 0) return null;
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

/** An embedding as it travels: float16 little-endian, base64. */
export function encodeEmbedding(v: Float32Array): string {
  const halfs = encodeHalfs(v);
  const bytes = new Uint8Array(halfs.length * 2);
  const view = new DataView(bytes.buffer);
  halfs.forEach((h, i) => view.setUint16(i * 2, h, true));
  return bytesToBase64(bytes);
}

/** The embedding `s` encodes, or a reason it is not one of `dim` finite, L2-normalised values. */
export function decodeEmbedding(s: string, dim: number): Float32Array | string {
  const bytes = base64ToBytes(s);
  if (!bytes) return 'is not base64';
  if (bytes.length !== dim * 2) return `has ${bytes.length / 2} values, expected ${dim}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(dim);
  let sum = 0;
  for (let i = 0; i < dim; i++) {
    const x = fromHalf(view.getUint16(i * 2, true));
    if (!Number.isFinite(x)) return `holds ${x} at index ${i}`;
    out[i] = x;
    sum += x * x;
  }
  const norm = Math.sqrt(sum);
  if (norm !== 0 && Math.abs(norm - 1) > HUB_LIMITS.normTolerance) return `is not L2-normalised (norm ${norm.toFixed(4)})`;
  return out;
}

// ---- schemas ------------------------------------------------------------------------------------------

const id = z.string().min(1).max(HUB_LIMITS.idChars).regex(/^[A-Za-z0-9_-]+$/, 'only letters, digits, - and _');
const text = (max: number) => z.string().max(max);
const identity = z.string().trim().min(1, 'is empty').max(HUB_LIMITS.identityChars);
const cameraName = z.string().trim().min(1, 'is empty').max(HUB_LIMITS.cameraNameChars);
/** Milliseconds since the epoch, as the device's clock read it. */
const time = z.number().int().nonnegative().max(8.64e15);
const stageKey = z.string().regex(STAGE_KEY_PATTERN, 'is not a stage key (1, 2, … or fused)');
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'is not base64');

/** An entry as it is added: immutable from then on (renames and deletes are events of their own). */
export const HubEntrySchema = z.strictObject({
  id,
  identity,
  /** Camera number from a dataset file name, or null. */
  camera: z.number().int().nonnegative().max(10_000).nullable(),
  /** The adding device's camera name ("Front door"). */
  cameraName,
  fileName: text(HUB_LIMITS.fileNameChars),
  modelId: z.string().min(1).max(HUB_LIMITS.modelIdChars),
  createdAt: time,
  /** Embedding length, the same for every stage. */
  dim: z.number().int().min(1).max(HUB_LIMITS.maxDim),
  /** Stage key → encodeEmbedding(). */
  embeddings: z.record(stageKey, base64).refine((r) => Object.keys(r).length >= 1 && Object.keys(r).length <= HUB_LIMITS.maxStages, `needs 1 to ${HUB_LIMITS.maxStages} stages`),
  /** The JPEG thumbnail, base64 (at most HUB_LIMITS.thumbnailBytes decoded). Present when a device adds
   * the entry; the hub's event stream leaves it out (devices fetch it from /hub/thumbnails/<id>). */
  thumbnail: base64.max(Math.ceil(HUB_LIMITS.thumbnailBytes / 3) * 4, `is larger than ${HUB_LIMITS.thumbnailBytes} bytes`).optional(),
});
export type HubEntry = z.infer<typeof HubEntrySchema>;

/** Fields every event has. `id` makes a replay of the same event a no-op; (at, device, id) orders
 * concurrent renames (last writer wins). */
const eventBase = { id, device: id, at: time };

export const HubEventSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...eventBase, kind: z.literal('add'), entry: HubEntrySchema }),
  z.strictObject({ ...eventBase, kind: z.literal('rename'), entryId: id, identity }),
  /** A tombstone: the entry is gone for good, whatever renames come after. */
  z.strictObject({ ...eventBase, kind: z.literal('delete'), entryId: id }),
  /** A webcam recognised `identity` (through gallery entry `entryId`) at camera `cameraName`. */
  z.strictObject({ ...eventBase, kind: z.literal('sighting'), identity, entryId: id, cameraName, distance: z.number().finite().min(0).max(4) }),
]);
export type HubEvent = z.infer<typeof HubEventSchema>;
export type HubEventKind = HubEvent['kind'];

/** An event as the hub stores and sends it: with its place in the hub's log. */
export type SequencedEvent = HubEvent & { seq: number };

// Device → hub
export const ClientMessageSchema = z.discriminatedUnion('type', [
  /** First message on a socket: who this is and the last hub sequence number it has applied. */
  z.strictObject({ type: z.literal('hello'), device: id, since: z.number().int().nonnegative() }),
  /** Events made on this device. The hub answers `ack` once they are durably stored. */
  z.strictObject({ type: z.literal('push'), events: z.array(z.unknown()).min(1).max(HUB_LIMITS.eventsPerPush) }),
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;

// Hub → device
export interface WelcomeMessage {
  type: 'welcome';
  hubId: string;
  /** The hub's last sequence number when the socket was accepted. */
  head: number;
}
/** A page of the log after the device's `since`; `head` is the hub's last sequence number. Pages follow
 * each other until `seq` of the last reaches `head`; new events then arrive as they are stored. */
export interface EventsMessage {
  type: 'events';
  events: SequencedEvent[];
  head: number;
}
/** The pushed events now stored (or already stored before: a replay is acknowledged, not duplicated). */
export interface AckMessage {
  type: 'ack';
  ids: string[];
}
/** A refused message or event: nothing of it was stored. `eventId` names the refused event of a push
 * (the others of that push were stored and acknowledged). */
export interface ErrorMessage {
  type: 'error';
  message: string;
  eventId?: string;
}
/** Sent every HUB_HEARTBEAT_MS: a socket whose peer vanished (a laptop asleep, a dropped network) can
 * look open for minutes, and silence is how a device tells. */
export interface HeartbeatMessage {
  type: 'heartbeat';
}
export type ServerMessage = WelcomeMessage | EventsMessage | AckMessage | ErrorMessage | HeartbeatMessage;

/** A readable reason for a zod failure: "events[0].entry.embeddings.1: is not base64". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'message'}: ${i.message}`)
    .join('; ');
}

/** Parses one event fully, including its embeddings' dimensions and values and its thumbnail's size.
 * Returns the event or the reason it is refused. */
export function parseEvent(raw: unknown): HubEvent | string {
  const parsed = HubEventSchema.safeParse(raw);
  if (!parsed.success) return describeIssues(parsed.error);
  const event = parsed.data;
  if (event.kind === 'add') {
    const { entry } = event;
    for (const [key, value] of Object.entries(entry.embeddings)) {
      const v = decodeEmbedding(value, entry.dim);
      if (typeof v === 'string') return `entry.embeddings.${key}: ${v}`;
    }
    if (entry.thumbnail !== undefined) {
      const bytes = base64ToBytes(entry.thumbnail);
      if (!bytes) return 'entry.thumbnail: is not base64';
      if (bytes.length > HUB_LIMITS.thumbnailBytes) return `entry.thumbnail: is larger than ${HUB_LIMITS.thumbnailBytes} bytes`;
      if (bytes.length < 3 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[2] !== 0xff) return 'entry.thumbnail: is not a JPEG';
    }
  }
  return event;
}

/** HTTP: POST /hub/search body. */
export const SearchRequestSchema = z.strictObject({
  modelId: z.string().min(1).max(HUB_LIMITS.modelIdChars),
  stage: stageKey,
  embedding: base64,
  k: z.number().int().min(1).max(HUB_LIMITS.maxK),
});
export type SearchRequest = z.infer<typeof SearchRequestSchema>;
export interface SearchResponse {
  matches: { entryId: string; identity: string; distance: number }[];
}

/** HTTP: GET /hub/status. */
export interface HubStatus {
  hubId: string;
  head: number;
  entries: number;
  deleted: number;
  sightings: number;
}
