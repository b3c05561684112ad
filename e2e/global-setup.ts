// Runs once before any worker starts: the fake cameras' clips must exist before a browser opens one, and
// with fullyParallel every worker would otherwise race to write them.
import { CLIPS, writeClip } from './video/build';
import { marketMissing } from './video/market';

export default function globalSetup(): void {
  if (marketMissing() === null) for (const { file, spec } of CLIPS) writeClip(file, spec);
}
