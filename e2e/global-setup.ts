// Runs once before any worker starts: the fake camera's clip must exist before a browser opens it, and
// with fullyParallel every worker would otherwise race to write it.
import { DEFAULT_CLIP, writeClip } from './video/build';
import { marketMissing } from './video/market';

export default function globalSetup(): void {
  if (marketMissing() === null) writeClip(DEFAULT_CLIP);
}
