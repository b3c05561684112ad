// Box geometry in frame pixels: overlap for the tracker, and the crop a person is embedded from.

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Size {
  width: number;
  height: number;
}

export function area(b: Box): number {
  return Math.max(0, b.width) * Math.max(0, b.height);
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (area(a) + area(b) - inter);
}

export function centre(b: Box): { x: number; y: number } {
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

/**
 * The region to embed for a detected person: the box grown by `margin` (a fraction of its size on each
 * side, as Market-1501's crops leave some background around the person), then widened or heightened about
 * its centre to the model's aspect ratio so the resize does not distort the person. It is moved back inside
 * the frame where it fits; a crop larger than the frame stays centred on the person and the part outside
 * is padded by the crop op, never squashed.
 */
export function cropBox(box: Box, frame: Size, modelInput: Size, margin: number): Box {
  const c = centre(box);
  let width = box.width * (1 + 2 * margin);
  let height = box.height * (1 + 2 * margin);
  const aspect = modelInput.height / modelInput.width;
  if (height / width > aspect) width = height / aspect;
  else height = width * aspect;
  return {
    x: fitAxis(c.x - width / 2, width, frame.width),
    y: fitAxis(c.y - height / 2, height, frame.height),
    width,
    height,
  };
}

function fitAxis(start: number, length: number, limit: number): number {
  if (length >= limit) return start;
  return Math.min(Math.max(start, 0), limit - length);
}

/** A pixel box as tf.image.cropAndResize's normalised [y1, x1, y2, x2] (pixel centres 0 … size-1). */
export function normalisedCropBox(b: Box, frame: Size): [number, number, number, number] {
  const sy = Math.max(1, frame.height - 1);
  const sx = Math.max(1, frame.width - 1);
  return [b.y / sy, b.x / sx, (b.y + b.height) / sy, (b.x + b.width) / sx];
}
