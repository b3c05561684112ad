import { describe, expect, it } from 'vitest';
import { IouTracker, type Detection } from './tracker';

const det = (x: number, y: number, score = 0.9): Detection => ({ box: { x, y, width: 50, height: 120 }, score });

describe('IouTracker', () => {
  it('keeps the same id for a person moving slowly, and gives a new person a new id', () => {
    const tracker = new IouTracker();
    const first = tracker.update([det(100, 50)]).inView;
    expect(first).toHaveLength(1);
    const id = first[0].id;
    let inView = first;
    for (let i = 1; i <= 10; i++) inView = tracker.update([det(100 + 5 * i, 50)]).inView;
    expect(inView.map((t) => t.id)).toEqual([id]);
    expect(inView[0].hits).toBe(11);
    inView = tracker.update([det(150, 50), det(400, 60)]).inView;
    expect(inView).toHaveLength(2);
    expect(inView.find((t) => t.box.x === 150)?.id).toBe(id);
    expect(inView.find((t) => t.box.x === 400)?.id).not.toBe(id);
  });

  it('does not swap two people walking side by side', () => {
    const tracker = new IouTracker();
    const start = tracker.update([det(100, 50), det(300, 50)]).inView;
    const left = start.find((t) => t.box.x === 100)!.id;
    const right = start.find((t) => t.box.x === 300)!.id;
    let inView = start;
    // Detections come back in the other order each frame.
    for (let i = 1; i <= 8; i++) inView = tracker.update([det(300 - 6 * i, 50), det(100 + 6 * i, 50)]).inView;
    expect(inView.find((t) => t.box.x === 148)?.id).toBe(left);
    expect(inView.find((t) => t.box.x === 252)?.id).toBe(right);
  });

  it('bridges a few frames without a detection, then ends the track', () => {
    const tracker = new IouTracker({ minIou: 0.3, maxMissed: 2 });
    const id = tracker.update([det(100, 50)]).inView[0].id;
    expect(tracker.update([]).inView).toEqual([]);
    expect(tracker.update([det(102, 50)]).inView[0].id).toBe(id);
    tracker.update([]);
    tracker.update([]);
    const { ended } = tracker.update([]);
    expect(ended).toEqual([id]);
    expect(tracker.update([det(102, 50)]).inView[0].id).not.toBe(id);
  });

  it('starts a new track when the box jumps (no overlap)', () => {
    const tracker = new IouTracker();
    const id = tracker.update([det(100, 50)]).inView[0].id;
    expect(tracker.update([det(400, 50)]).inView[0].id).not.toBe(id);
  });
});
