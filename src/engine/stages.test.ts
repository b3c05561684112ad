import { describe, expect, it } from 'vitest';
import { EXITS, FUSION_STEP, perStage, STAGE_IDS, STAGE_KEYS, stageDepth, STEP_COUNT, stepStage } from './stages';

describe('the stage vocabulary', () => {
  it('is the model exits, then the fusion, each one step of a pass', () => {
    expect(STAGE_IDS).toEqual([...EXITS, 'fused']);
    expect(STEP_COUNT).toBe(EXITS.length + 1);
    expect(stepStage(FUSION_STEP)).toBe('fused');
    expect(STAGE_KEYS).toEqual(STAGE_IDS.map(String));
  });

  it('maps steps to stages and back', () => {
    for (let i = 0; i < STEP_COUNT; i++) expect(stageDepth(stepStage(i))).toBe(i + 1);
    expect(stageDepth(null)).toBe(0);
    expect(() => stepStage(STEP_COUNT)).toThrow(RangeError);
  });

  it('builds one value per stage key', () => {
    expect(perStage((key, step) => `${key}@${step}`)).toEqual(Object.fromEntries(STAGE_KEYS.map((k, i) => [k, `${k}@${i}`])));
  });
});
