import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { timeProbe } from './backendProbe';
import { useBackend } from './node/testModel';

describe('timeProbe (real backends in Node)', () => {
  it.each(['wasm', 'cpu'] as const)('times the probe on %s and frees everything it made', async (name) => {
    expect((await useBackend(name)).active).toBe(name);
    const before = tf.memory().numTensors;
    const ms = await timeProbe(3);
    expect(Number.isFinite(ms)).toBe(true);
    expect(ms).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
