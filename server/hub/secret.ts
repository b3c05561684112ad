// The hub's secret: 32 random bytes, hex, made at the first start and kept in `<dir>/secret` (mode 0600:
// whoever reads it can read and write the shared gallery).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HUB_LIMITS } from '../../src/hub/protocol.ts';

const SECRET_PATTERN = new RegExp(`^[0-9a-f]{${HUB_LIMITS.secretHexChars}}$`);

/** The secret kept in `dir`, made (and the folder with it) when there is none yet. */
export function loadOrCreateSecret(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'secret');
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (!SECRET_PATTERN.test(secret)) throw new Error(`${file} does not hold a hub secret (${HUB_LIMITS.secretHexChars} hex digits); delete it to make a new one`);
    return secret;
  }
  const secret = randomBytes(HUB_LIMITS.secretHexChars / 2).toString('hex');
  // 'wx': never overwrite a secret another process has just written.
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

/** Whether `candidate` is the secret, in time that does not depend on where they differ. */
export function secretMatches(secret: string, candidate: string | undefined): boolean {
  if (candidate === undefined) return false;
  const a = Buffer.from(secret, 'utf8');
  const b = Buffer.from(candidate, 'utf8');
  // timingSafeEqual needs equal lengths; comparing against itself keeps the time the same on a length mismatch.
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
