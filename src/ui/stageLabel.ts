import type { StageId } from '../engine';

export const stageLabel = (s: StageId): string => (s === 'fused' ? 'fused' : `stage ${s}`);
