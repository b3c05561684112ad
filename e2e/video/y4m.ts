// YUV4MPEG2 (4:2:0) files: what Chromium's fake camera plays (--use-file-for-fake-video-capture), and
// what the webcam benchmark reads back as a recorded clip.

import fs from 'node:fs';

export interface RgbFrame {
  width: number;
  height: number;
  /** RGB bytes, row-major. */
  data: Uint8Array;
}

/** Writes RGB frames (even width and height) as 4:2:0 YUV, BT.601 full range. */
export function writeY4m(path: string, frames: readonly RgbFrame[], fps: number): void {
  const { width, height } = frames[0];
  if (width % 2 || height % 2) throw new Error(`y4m 4:2:0 needs even sides, got ${width}×${height}`);
  const fd = fs.openSync(path, 'w');
  try {
    fs.writeSync(fd, `YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
    for (const f of frames) {
      fs.writeSync(fd, 'FRAME\n');
      fs.writeSync(fd, rgbToYuv420(f));
    }
  } finally {
    fs.closeSync(fd);
  }
}

export function rgbToYuv420({ width, height, data }: RgbFrame): Uint8Array {
  const out = new Uint8Array((width * height * 3) / 2);
  const u0 = width * height;
  const v0 = u0 + (width * height) / 4;
  for (let i = 0, p = 0; i < width * height; i++, p += 3) {
    out[i] = clampByte(0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]);
  }
  for (let y = 0; y < height; y += 2) {
    for (let x = 0; x < width; x += 2) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const p = ((y + dy) * width + x + dx) * 3;
        r += data[p];
        g += data[p + 1];
        b += data[p + 2];
      }
      r /= 4;
      g /= 4;
      b /= 4;
      const c = (y / 2) * (width / 2) + x / 2;
      out[u0 + c] = clampByte(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
      out[v0 + c] = clampByte(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
    }
  }
  return out;
}

/** Reads a 4:2:0 y4m file back into RGB frames. */
export function readY4m(path: string): { fps: number; frames: RgbFrame[] } {
  const buf = fs.readFileSync(path);
  const headerEnd = buf.indexOf(0x0a);
  const header = buf.subarray(0, headerEnd).toString('latin1').split(' ');
  if (header[0] !== 'YUV4MPEG2') throw new Error(`${path} is not a y4m file`);
  const field = (c: string) => header.find((h) => h.startsWith(c))?.slice(1);
  const width = Number(field('W'));
  const height = Number(field('H'));
  const [num, den] = (field('F') ?? '30:1').split(':').map(Number);
  const colour = field('C') ?? '420jpeg';
  if (!colour.startsWith('420')) throw new Error(`${path}: only 4:2:0 is supported, not ${colour}`);
  const size = (width * height * 3) / 2;
  const frames: RgbFrame[] = [];
  let at = headerEnd + 1;
  while (at < buf.length) {
    const lineEnd = buf.indexOf(0x0a, at);
    if (buf.subarray(at, at + 5).toString('latin1') !== 'FRAME' || lineEnd < 0) throw new Error(`${path}: bad frame header at byte ${at}`);
    frames.push(yuv420ToRgb(buf.subarray(lineEnd + 1, lineEnd + 1 + size), width, height));
    at = lineEnd + 1 + size;
  }
  return { fps: num / den, frames };
}

export function yuv420ToRgb(yuv: Uint8Array, width: number, height: number): RgbFrame {
  const data = new Uint8Array(width * height * 3);
  const u0 = width * height;
  const v0 = u0 + (width * height) / 4;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = (y >> 1) * (width >> 1) + (x >> 1);
      const Y = yuv[y * width + x];
      const U = yuv[u0 + c] - 128;
      const V = yuv[v0 + c] - 128;
      const p = (y * width + x) * 3;
      data[p] = clampByte(Y + 1.402 * V);
      data[p + 1] = clampByte(Y - 0.344136 * U - 0.714136 * V);
      data[p + 2] = clampByte(Y + 1.772 * U);
    }
  }
  return { width, height, data };
}

function clampByte(v: number): number {
  return Math.min(255, Math.max(0, Math.round(v)));
}
