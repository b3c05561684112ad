// Serves an already-built app and the hub, without installing or building (tests and development):
//   npx tsx server/main.ts [--root dist]
// `node --import tsx server/main.ts` runs it as one process (the tsx CLI runs it in a child): what tests
// that SIGKILL it spawn.
// PORT (default 4173), HOST (default localhost), HUB_DIR (default <repo>/.hub). One process, no children.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { closeOnSignals, PROJECT_ROOT, serve } from './serve.ts';

const { values } = parseArgs({ options: { root: { type: 'string' } } });
const root = resolve(values.root ?? join(PROJECT_ROOT, 'dist'));
if (!existsSync(join(root, 'index.html'))) {
  console.error(`${root} holds no built app: run npm run build (or npm start, which builds and serves).`);
  process.exit(1);
}
try {
  const served = await serve({
    root,
    port: Number(process.env.PORT ?? 4173),
    host: process.env.HOST ?? 'localhost',
    hubDir: resolve(process.env.HUB_DIR ?? join(PROJECT_ROOT, '.hub')),
  });
  closeOnSignals(served);
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
