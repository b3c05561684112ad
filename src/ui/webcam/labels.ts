import type { StageId } from '../../engine/types';
import type { PersonView } from '../../webcam/pipeline';
import { stageLabel } from '../stageLabel';

/** A stage as data-stage prints it: its exit number, fused, or none before the first answer. */
export function stageAttr(stage: StageId | null): string {
  return stage === null ? 'none' : String(stage);
}

/** A stage as the view prints it ("stage 3", "fused"), or "…" before the first answer. */
export function stageText(stage: StageId | null): string {
  return stage === null ? '…' : stageLabel(stage);
}

/** The identity shown for a person: the gallery name, or "unknown". */
export function identityLabel(p: PersonView): string {
  return p.decision?.identity ?? 'unknown';
}
