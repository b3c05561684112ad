// The Chromium the e2e tests run: Debian's, with the flags every test needs. A spec that sets its own
// launchOptions must spread these (test.use replaces the object, it does not merge it).

export const CHROMIUM_EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-webgpu',
];

export const CHROMIUM_LAUNCH = { executablePath: CHROMIUM_EXECUTABLE, args: CHROMIUM_ARGS };
