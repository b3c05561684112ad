// "just now", "2 min ago", "3 h ago", "yesterday", else the date: how the hub's times read, and a clock
// that makes them read true as time passes.

import { useEffect, useState } from 'react';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Midnight (local time) at the start of `at`'s day. */
function startOfDay(at: number): number {
  const d = new Date(at);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** How long ago `at` was, seen at `now` (both ms since the epoch). A time ahead of `now` (another
 * device's clock runs fast) reads "just now", not "in 2 min". */
export function relativeTime(at: number, now: number): string {
  const ago = now - at;
  if (ago < MINUTE) return 'just now';
  if (ago < HOUR) return `${Math.floor(ago / MINUTE)} min ago`;
  const today = startOfDay(now);
  if (at >= today) return `${Math.floor(ago / HOUR)} h ago`;
  // The day before today's midnight (new Date handles a daylight-saving day of 23 or 25 hours).
  const yesterday = startOfDay(today - 1);
  if (at >= yesterday) return 'yesterday';
  return new Date(at).toLocaleDateString();
}

/** A sighting's time of day (or date and time when not today), in the user's locale. */
export function localTime(at: number, now: number): string {
  const d = new Date(at);
  return at >= startOfDay(now) ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

/** The time now, with a render at least every `everyMs` so relative times move on by themselves (read
 * at each render: a sighting that arrives between two ticks is not older than the clock). */
export function useNow(everyMs = 30_000): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return Date.now();
}
