// The reporter on a webcam-like state (the real WebcamService needs a camera to have people in view): who
// is reported to the hub, when, and with which match.
import { describe, expect, it } from 'vitest';
import type { PersonView } from '../webcam/pipeline';
import { Observable } from './observable';
import { SightingReporter, type SightingSink } from './sightingReporter';

class PeopleInView extends Observable<{ people: PersonView[]; status: string }> {
  constructor() {
    super({ people: [], status: 'running' });
  }
  show(people: PersonView[]): void {
    this.update({ people });
  }
  setStatus(status: string): void {
    this.update({ status });
  }
}

let nextTrack = 1;
function person(identity: string | null, entryId: string | null, distance: number | null, track = nextTrack++): PersonView {
  return {
    track,
    box: { x: 0, y: 0, width: 10, height: 20 },
    stage: 'fused',
    decision: { identity, distance, threshold: 0.8, margin: 0.1 },
    nearestEntryId: entryId,
    partsThisFrame: 0,
    stepsReached: 5,
    stepCount: 5,
  };
}

function setUp(intervalMs = 30_000) {
  const source = new PeopleInView();
  const reported: Parameters<SightingSink['recordSighting']>[0][] = [];
  const clock = { now: 1_000_000 };
  const reporter = new SightingReporter(source, { recordSighting: (s) => void reported.push(s) }, { intervalMs, now: () => clock.now });
  const stop = reporter.start();
  return { source, reported, clock, stop };
}

describe('SightingReporter', () => {
  it('reports a person on first recognition, then at most once per interval while in view', () => {
    const { source, reported, clock } = setUp();
    const alice = person(null, 'e1', 1.2);
    source.show([alice]);
    expect(reported).toEqual([]); // not recognised yet: nothing to report

    source.show([{ ...alice, decision: { ...alice.decision!, identity: 'alice', distance: 0.4 } }]);
    expect(reported).toEqual([{ identity: 'alice', entryId: 'e1', distance: 0.4 }]);

    for (let i = 0; i < 10; i++) {
      clock.now += 2_900;
      source.show([{ ...alice, decision: { ...alice.decision!, identity: 'alice', distance: 0.4 } }]);
    }
    expect(reported).toHaveLength(1); // 29 s later: still the one report

    clock.now += 1_000;
    source.show([person('alice', 'e2', 0.3, alice.track)]);
    expect(reported).toEqual([
      { identity: 'alice', entryId: 'e1', distance: 0.4 },
      { identity: 'alice', entryId: 'e2', distance: 0.3 },
    ]);
  });

  it('limits each identity on its own, and a new track of a just-reported identity waits for the interval', () => {
    const { source, reported, clock } = setUp();
    source.show([person('alice', 'a1', 0.5)]);
    clock.now += 5_000;
    // Alice's track was lost and found again (a new track id); Bob comes in.
    source.show([person('alice', 'a1', 0.5), person('bob', 'b1', 0.6)]);
    expect(reported.map((s) => s.identity)).toEqual(['alice', 'bob']);
    clock.now += 30_000;
    source.show([person('alice', 'a1', 0.5), person('bob', 'b1', 0.6)]);
    expect(reported.map((s) => s.identity)).toEqual(['alice', 'bob', 'alice', 'bob']);
  });

  it('reports one sighting per identity per frame, with the closest match', () => {
    const { source, reported } = setUp();
    source.show([person('alice', 'far', 0.7), person('alice', 'near', 0.2), person(null, 'x', 1.5)]);
    expect(reported).toEqual([{ identity: 'alice', entryId: 'near', distance: 0.2 }]);
  });

  it('ignores state changes that leave the people as they were, and stops when told', () => {
    const { source, reported, clock, stop } = setUp(1_000);
    source.show([person('alice', 'a1', 0.5)]);
    clock.now += 5_000;
    source.setStatus('idle'); // same people array: no new frame, no new sighting
    expect(reported).toHaveLength(1);
    stop();
    source.show([person('alice', 'a1', 0.5)]);
    expect(reported).toHaveLength(1);
  });

  it('is not silenced for long by a clock set back', () => {
    const { source, reported, clock } = setUp();
    source.show([person('alice', 'a1', 0.5)]);
    clock.now -= 3_600_000;
    source.show([person('alice', 'a1', 0.5)]);
    expect(reported).toHaveLength(2);
  });
});
