/// <reference types="vitest/config" />
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { SHIPPED_MODEL } from './src/shippedModel.ts';
import { detectorModelPlugin } from './build/detectorPlugin.ts';

const ROOT = import.meta.dirname;

/** Folders served as they are under a URL prefix: in dev from disk, in the build copied into dist. Only the
 * shipped model and tfjs' wasm binaries: Market-1501 images are never part of the app. */
const STATIC_DIRS = [
  { url: `/models/${SHIPPED_MODEL}/`, dir: resolve(ROOT, 'models', SHIPPED_MODEL), match: /\.(json|bin)$/ },
  { url: '/tfjs-wasm/', dir: resolve(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'), match: /\.wasm$/ },
];

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
};

/** Cross-origin isolation: SharedArrayBuffer, hence tfjs' multithreaded wasm backend, needs it. */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

function staticDirsPlugin(): Plugin {
  const list = (dir: string, match: RegExp) => {
    try {
      return readdirSync(dir).filter((name) => match.test(name) && statSync(join(dir, name)).isFile());
    } catch {
      throw new Error(`${dir} is missing: run npm install (tfjs wasm files) or restore the shipped model`);
    }
  };
  return {
    name: 'anytime-reid:static-dirs',
    configureServer(server) {
      for (const { url, dir, match } of STATIC_DIRS) {
        server.middlewares.use(url, (req, res, next) => {
          const name = decodeURIComponent(req.url?.split('?')[0].slice(1) ?? '');
          if (!list(dir, match).includes(name)) return next();
          res.setHeader('Content-Type', CONTENT_TYPES[extname(name)] ?? 'application/octet-stream');
          res.setHeader('Cache-Control', 'no-cache');
          res.end(readFileSync(join(dir, name)));
        });
      }
    },
    generateBundle() {
      for (const { url, dir, match } of STATIC_DIRS) {
        for (const name of list(dir, match)) {
          this.emitFile({ type: 'asset', fileName: `${url.slice(1)}${name}`, source: readFileSync(join(dir, name)) });
        }
      }
    },
  };
}

export default defineConfig({
  // Vitest reads this file too: its Node unit tests need none of the app's plugins.
  plugins: process.env.VITEST
    ? []
    : [
        react(),
        staticDirsPlugin(),
        detectorModelPlugin(ROOT),
        VitePWA({
          strategies: 'generateSW',
          registerType: 'autoUpdate',
          // src/main.tsx registers it (after the first render), so nothing is injected into index.html.
          injectRegister: false,
          manifest: false,
          workbox: {
            // The app shell, tfjs' wasm binaries and the models (the DaRe model, the webcam's detector):
            // everything needed to reload and run offline.
            globPatterns: ['**/*.{html,js,css,svg,wasm,json,bin}'],
            maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,
            navigateFallback: 'index.html',
            cleanupOutdatedCaches: true,
            clientsClaim: true,
            skipWaiting: true,
          },
        }),
      ],
  build: {
    // Vite 8's default minifier (oxc) breaks tfjs' threaded wasm backend: the pthread worker is built from
    // the factory's source text at run time and fails with "e is not defined"; esbuild keeps it working.
    minify: 'esbuild',
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
  },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  test: {
    include: ['src/**/*.test.ts', 'bench/**/*.test.ts', 'build/**/*.test.ts', 'server/**/*.test.ts'],
    environment: 'node',
    // Several suites run the real model on wasm (warm-up, calibration) on a small shared machine: the
    // limits guard against hangs, they are not speed checks.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
