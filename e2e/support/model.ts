// The shipped model's stage layout, read from its own metadata, so the specs expect whatever exits the
// app ships (models/<SHIPPED_MODEL>/model.json) rather than a number written into each of them.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StageLayout, type StageKey } from '../../src/engine/stages';
import { SHIPPED_MODEL } from '../../src/shippedModel';

interface ModelJson {
  userDefinedMetadata?: { dare?: { stages?: unknown[] } };
}

function shippedLayout(): StageLayout {
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', SHIPPED_MODEL, 'model.json');
  const json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson;
  const stages = json.userDefinedMetadata?.dare?.stages;
  if (!Array.isArray(stages)) throw new Error(`${path} has no userDefinedMetadata.dare.stages`);
  return new StageLayout(stages.length);
}

const SHIPPED_LAYOUT = shippedLayout();

/** Every embedding a full pass of the shipped model yields: its exits in order, then 'fused'. */
export const SHIPPED_STAGES: readonly StageKey[] = SHIPPED_LAYOUT.keys;
/** Where a budgeted stream's query can exit: every exit but the last, then the full model. */
export const SHIPPED_STREAM_EXITS: readonly StageKey[] = SHIPPED_LAYOUT.streamExits;
