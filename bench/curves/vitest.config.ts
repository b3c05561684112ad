// The benchmark's unit tests live next to it, outside the app's src/**/*.test.ts:
// npx vitest run --config bench/curves/vitest.config.ts
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: resolve(import.meta.dirname, '../..'),
  test: { include: ['bench/curves/**/*.test.ts'], environment: 'node' },
});
