import { describe, expect, it } from 'vitest';
import { relativeTime } from './relativeTime';

const at = (y: number, m: number, d: number, h = 0, min = 0, s = 0) => new Date(y, m - 1, d, h, min, s).getTime();

describe('relativeTime', () => {
  const now = at(2026, 3, 10, 15, 30);

  it('reads seconds as just now, minutes and hours as they are', () => {
    expect(relativeTime(now, now)).toBe('just now');
    expect(relativeTime(now - 59_999, now)).toBe('just now');
    expect(relativeTime(now + 120_000, now)).toBe('just now'); // another device's clock is ahead
    expect(relativeTime(now - 60_000, now)).toBe('1 min ago');
    expect(relativeTime(now - 2 * 60_000 - 5_000, now)).toBe('2 min ago');
    expect(relativeTime(now - 59 * 60_000, now)).toBe('59 min ago');
    expect(relativeTime(now - 3 * 3_600_000 - 60_000, now)).toBe('3 h ago');
    expect(relativeTime(at(2026, 3, 10, 0, 0, 1), now)).toBe('15 h ago');
  });

  it('reads the day before as yesterday, older times as their date', () => {
    expect(relativeTime(at(2026, 3, 9, 23, 59), now)).toBe('yesterday');
    expect(relativeTime(at(2026, 3, 9, 0, 0), now)).toBe('yesterday');
    const older = at(2026, 3, 8, 23, 59);
    expect(relativeTime(older, now)).toBe(new Date(older).toLocaleDateString());
    // Ten past midnight: 20 minutes ago is still minutes, even though it was yesterday.
    expect(relativeTime(at(2026, 3, 9, 23, 50), at(2026, 3, 10, 0, 10))).toBe('20 min ago');
  });
});
