import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { budgetPoints, countPeople, isQuery, labelOf, nameImage, pairKind, parseImageName, type ImageLabel, type PairKind, type ReidLabel } from './index';

interface Cases {
  names: { path: string; label: ImageLabel | null }[];
  pairs: { why: string; a: ReidLabel; b: ReidLabel; pair: PairKind | null }[];
}

const cases = JSON.parse(readFileSync(new URL('./cases.json', import.meta.url), 'utf8')) as Cases;

describe('parseImageName (the cases training/tests/test_protocol.py checks too)', () => {
  it.each(cases.names)('$path', ({ path, label }) => {
    expect(parseImageName(path)).toEqual(label);
  });
});

describe('pairKind (shared cases)', () => {
  it.each(cases.pairs)('$why', ({ a, b, pair }) => {
    expect(pairKind(a, b)).toBe(pair);
    expect(pairKind(b, a)).toBe(pair);
  });
});

describe('nameImage', () => {
  it('gives a typed identity to any file, camera unknown', () => {
    expect(nameImage('photo.jpg', ' carol ')).toEqual({ identity: 'carol', camera: null, kind: 'person', rule: 'typed' });
    expect(nameImage('-1_c3s2_000951_05.jpg', 'carol')).toMatchObject({ identity: 'carol', kind: 'person', rule: 'typed' });
  });

  it('reads the path when nothing is typed, and names nothing it cannot read', () => {
    expect(nameImage('a/0000_c5s1_017551_08.jpg', '  ')).toMatchObject({ identity: '0000', kind: 'distractor', rule: 'market1501' });
    expect(nameImage('photo.jpg', '')).toBeNull();
  });
});

describe('labelOf (stored entries)', () => {
  it('treats old Market-1501 entries named -1 and 0000 as junk and distractors, not persons', () => {
    expect(labelOf({ identity: '-1', camera: 3, fileName: '-1_c3s2_000951_05.jpg' })).toMatchObject({ kind: 'junk', rule: 'market1501' });
    expect(labelOf({ identity: '0000', camera: 5, fileName: 'test/0000_c5s1_017551_08.jpg' })).toMatchObject({ kind: 'distractor' });
  });

  it('says an identity that the name does not give was typed', () => {
    expect(labelOf({ identity: 'carol', camera: null, fileName: '-1_c3s2_000951_05.jpg' })).toEqual({ identity: 'carol', camera: null, kind: 'person', rule: 'typed' });
    expect(labelOf({ identity: 'dave', camera: null, fileName: 'webcam-dave-2026-01-01T00-00-00-000Z-1.jpg' })).toMatchObject({ kind: 'person', rule: 'typed' });
    expect(labelOf({ identity: 'alice', camera: null, fileName: 'people/alice/1.jpg' })).toMatchObject({ rule: 'folder' });
  });
});

describe('countPeople and isQuery', () => {
  const labels: ReidLabel[] = [
    { identity: '0002', camera: 1, kind: 'person' },
    { identity: '0002', camera: 2, kind: 'person' },
    { identity: '0007', camera: 1, kind: 'person' },
    { identity: '-1', camera: 1, kind: 'junk' },
    { identity: '0000', camera: 2, kind: 'distractor' },
    { identity: '0000', camera: 3, kind: 'distractor' },
  ];

  it('counts distinct persons only', () => {
    expect(countPeople(labels)).toBe(2);
    expect(countPeople([])).toBe(0);
  });

  it('lets only persons be queries', () => {
    expect(labels.map(isQuery)).toEqual([true, true, true, false, false, false]);
  });
});

describe('budgetPoints', () => {
  it('spaces the budgets evenly, strictly between the first and last cost', () => {
    const b = budgetPoints([10, 22, 31, 45], 4);
    expect(b).toHaveLength(4);
    expect(b[0]).toBeGreaterThan(10);
    expect(b[3]).toBeLessThan(45);
    expect(b.map((x, i) => (i ? x - b[i - 1] : 7))).toEqual([7, 7, 7, 7]);
  });
});
