import { describe, expect, it } from 'vitest';
import { seededPermutation } from './random';

describe('seededPermutation', () => {
  it('shuffles into a seeded permutation', () => {
    const a = seededPermutation(50, 1);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(seededPermutation(50, 1)).toEqual(a);
    expect(seededPermutation(50, 2)).not.toEqual(a);
  });
});
