import { describe, expect, it } from 'vitest';
import { isStageKey, StageLayout } from './stages';

describe('the stage layout', () => {
  it('is the model exits, then the fusion, each one step of a pass', () => {
    for (const n of [1, 3, 4]) {
      const layout = new StageLayout(n);
      expect(layout.exits).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(layout.ids).toEqual([...layout.exits, 'fused']);
      expect(layout.stepCount).toBe(n + 1);
      expect(layout.stepStage(layout.fusionStep)).toBe('fused');
      expect(layout.keys).toEqual(layout.ids.map(String));
    }
  });

  it('refuses a model without exits or with more than stage keys can name', () => {
    expect(() => new StageLayout(0)).toThrow(RangeError);
    expect(() => new StageLayout(100)).toThrow(RangeError);
    expect(() => new StageLayout(2.5)).toThrow(RangeError);
  });

  it('maps steps to stages and back', () => {
    const layout = new StageLayout(3);
    for (let i = 0; i < layout.stepCount; i++) expect(layout.stageDepth(layout.stepStage(i))).toBe(i + 1);
    expect(layout.stageDepth(null)).toBe(0);
    expect(() => layout.stepStage(layout.stepCount)).toThrow(RangeError);
  });

  it('builds one value per stage key', () => {
    const layout = new StageLayout(3);
    expect(layout.perStage((key, step) => `${key}@${step}`)).toEqual({ '1': '1@0', '2': '2@1', '3': '3@2', fused: 'fused@3' });
  });

  it('streams every exit but the last, then the full model', () => {
    expect(new StageLayout(4).streamExits).toEqual(['1', '2', '3', 'fused']);
    expect(new StageLayout(3).streamExits).toEqual(['1', '2', 'fused']);
    expect(new StageLayout(1).streamExits).toEqual(['fused']);
  });

  it('recognises the layout stored embeddings were made with, and nothing else', () => {
    expect(StageLayout.ofKeys(['fused', '2', '1', '3'])?.stepCount).toBe(4);
    expect(StageLayout.ofKeys(['1', '2', '3', '4', 'fused'])?.keys).toEqual(['1', '2', '3', '4', 'fused']);
    expect(StageLayout.ofKeys(['1', '3', 'fused'])).toBeNull(); // a gap
    expect(StageLayout.ofKeys(['1', '2'])).toBeNull(); // no fusion
    expect(StageLayout.ofKeys(['fused'])).toBeNull();
    expect(StageLayout.ofKeys(['1', '1', 'fused'])).toBeNull();
    expect(StageLayout.ofKeys([])).toBeNull();
  });

  it('reads stage keys', () => {
    expect(['1', '12', 'fused'].every(isStageKey)).toBe(true);
    expect(['0', '01', '100', 'Fused', '', '1.5'].some(isStageKey)).toBe(false);
  });
});
