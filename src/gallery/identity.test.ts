import { describe, expect, it } from 'vitest';
import { parseMarketName } from './identity';

describe('parseMarketName', () => {
  it('reads identity and camera from Market-1501 names', () => {
    expect(parseMarketName('0002_c1s1_000451_03.jpg')).toEqual({ identity: '0002', camera: 1, kind: 'person' });
    expect(parseMarketName('1501_c6s4_001877_02.jpg')).toEqual({ identity: '1501', camera: 6, kind: 'person' });
  });

  it('recognises junk (-1) and distractors (0000)', () => {
    expect(parseMarketName('-1_c3s2_000951_05.jpg')).toEqual({ identity: '-1', camera: 3, kind: 'junk' });
    expect(parseMarketName('0000_c5s1_017551_08.jpg')).toEqual({ identity: '0000', camera: 5, kind: 'distractor' });
  });

  it('accepts .jpg, .jpeg and .png in any case, and ignores a folder path', () => {
    expect(parseMarketName('0002_c1s1_000451_03.JPG')?.identity).toBe('0002');
    expect(parseMarketName('0002_c2s1_000451_03.jpeg')?.camera).toBe(2);
    expect(parseMarketName('0002_c1s1_000451_03.Png')?.identity).toBe('0002');
    expect(parseMarketName('1488_c2s3_065527_00.jpg.jpg')).toEqual({ identity: '1488', camera: 2, kind: 'person' });
    expect(parseMarketName('bounding_box_test/0042_c4s1_000451_03.jpg')).toEqual({ identity: '0042', camera: 4, kind: 'person' });
    expect(parseMarketName('C:\\data\\0042_c4s1_000451_03.jpg')?.identity).toBe('0042');
  });

  it('returns null for anything else', () => {
    for (const name of [
      'photo.jpg',
      '0002_c1s1_000451_03.gif',
      '0002_c1s1_000451_03.jpg.txt',
      '002_c1s1_000451_03.jpg',
      '0002_c0s1_000451_03.jpg',
      '0002_c1s1_00451_03.jpg',
      '0002_c1_f0046182.jpg',
      '-2_c1s1_000451_03.jpg',
      '',
    ]) {
      expect(parseMarketName(name), name).toBeNull();
    }
  });
});
