// Public API of src/input: turning user files into pixels and thumbnails (browser: createImageBitmap,
// OffscreenCanvas). No React.
//
//   try {
//     const img = await decodeImage(file, { maxSide: 2 * meta.input.height });  // ImageData, ≤ maxSide
//     const embeddings = await engine.runner.embedAll(img.pixels);
//     const thumbnail = await makeThumbnail(img.pixels, meta.input.width, meta.input.height);  // JPEG Blob
//   } catch (e) {
//     if (e instanceof ImageInputError) show(e.message);   // e.kind: 'empty' | 'not-image' | 'corrupt' | 'too-large' | 'unreadable'
//   }

export { decodeImage, ALPHA_BACKGROUND, type DecodeOptions, type DecodedImage } from './decode';
export { makeThumbnail, resizePixels, THUMBNAIL_QUALITY } from './thumbnail';
export { ImageInputError, fileLabel, type ImageInputErrorKind } from './errors';
export { sniffImageType, describeNonImage, readImageHeader, type ImageFormat, type SniffedType, type ImageHeaderInfo } from './sniff';
export { fitWithin, orientedSize, type Size } from './sizing';
