// Typed failures of turning a user's file into pixels, each with a message that names the file.

/** 'empty': zero bytes. 'not-image': the bytes are not an image format browsers decode (checked by
 * magic bytes, not by name or MIME type). 'corrupt': it looks like an image but does not decode
 * (truncated, damaged). 'too-large': it failed to decode and its dimensions are beyond what a browser
 * can hold in memory. 'unreadable': the browser could not read the file (moved, deleted, permission). */
export type ImageInputErrorKind = 'empty' | 'not-image' | 'corrupt' | 'too-large' | 'unreadable';

export class ImageInputError extends Error {
  override readonly name = 'ImageInputError';
  constructor(
    readonly kind: ImageInputErrorKind,
    /** The file's name ('image' for a Blob without one). */
    readonly fileName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The name to show for a File or Blob. */
export function fileLabel(file: Blob): string {
  return typeof File !== 'undefined' && file instanceof File && file.name ? file.name : 'image';
}
