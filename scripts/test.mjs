#!/usr/bin/env node
// `npm test`: every test, on a fresh clone too. Checks the system packages first (and stops, saying which
// are missing and the command that installs them), installs the npm dependencies that are missing (as
// `npm start` does), then runs the type check, the unit tests, the model-pipeline tests and the end-to-end
// tests in Chromium, stopping at the first that fails.

import { installDependencies, npmRun } from './install.mjs';
import { aptInstallCommand, findChromium, missingSystemPackages } from './systemPackages.mjs';

const STEPS = ['typecheck', 'test:unit', 'test:py', 'test:e2e'];

const missing = missingSystemPackages();
if (missing.length > 0) {
  console.error(`npm test needs system packages that this machine lacks: ${missing.join(', ')}.`);
  console.error('Install them with\n');
  console.error(`  ${aptInstallCommand(missing)}\n`);
  console.error('then run npm test again.');
  process.exit(1);
}

installDependencies();
// The end-to-end tests launch the Chromium found here (e2e/support/browser.ts reads CHROMIUM_PATH).
const env = { ...process.env, CHROMIUM_PATH: findChromium() };
for (const step of STEPS) {
  if (!npmRun(['run', step], env)) {
    console.error(`npm test: ${step} failed (see above).`);
    process.exit(1);
  }
}
