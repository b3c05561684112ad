// A 2D canvas that works in workers and on the main thread (OffscreenCanvas where there is one).

export type Canvas2D = OffscreenCanvas | HTMLCanvasElement;
type Context2D = OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D;

export function createCanvas(width: number, height: number): { canvas: Canvas2D; ctx: Context2D } {
  const canvas: Canvas2D =
    typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(width, height) : Object.assign(document.createElement('canvas'), { width, height });
  // willReadFrequently keeps the canvas on the CPU: every canvas here is read back once (getImageData, encode).
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as Context2D | null;
  if (!ctx) throw new Error(`could not create a ${width}×${height} 2D canvas`);
  return { canvas, ctx };
}

export function canvasToBlob(canvas: Canvas2D, type: string, quality: number): Promise<Blob> {
  if ('convertToBlob' in canvas) return canvas.convertToBlob({ type, quality });
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error(`could not encode the canvas as ${type}`))), type, quality),
  );
}
