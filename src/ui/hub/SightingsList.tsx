// Who was seen where: one button per person the hub has sightings of, and that person's timeline across
// every camera of the hub, newest first.

import { useMemo, useState } from 'react';
import { useHub, type HubSighting } from '../../store/hub';
import { localTime, relativeTime, useNow } from './relativeTime';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function Timeline({ sightings, now }: { sightings: readonly HubSighting[]; now: number }) {
  return (
    <ol className="sightings-timeline" data-testid="sightings-timeline">
      {sightings.map((s) => (
        <li key={s.id} className="sighting-row" data-testid="sighting-row" data-camera={s.cameraName} data-at={s.at}>
          <strong>{s.cameraName}</strong> · <time dateTime={new Date(s.at).toISOString()}>{localTime(s.at, now)}</time> ·{' '}
          <span className="muted">{relativeTime(s.at, now)}</span>
        </li>
      ))}
    </ol>
  );
}

export function SightingsList() {
  const sightings = useHub((s) => s.sightings);
  const now = useNow();
  const [open, setOpen] = useState<string | null>(null);
  // The person seen last comes first.
  const people = useMemo(() => [...sightings].filter(([, list]) => list.length > 0).sort(([, a], [, b]) => b[0].at - a[0].at), [sightings]);
  return (
    <section className="panel sightings" aria-labelledby="sightings-title">
      <h2 id="sightings-title">Sightings</h2>
      {people.length === 0 ? (
        <p className="muted">No sightings yet. A person the webcam of any device in the hub recognises is listed here, with where and when.</p>
      ) : (
        <ul className="sightings-people">
          {people.map(([identity, list]) => (
            <li key={identity}>
              <button
                type="button"
                className={`sightings-person${open === identity ? ' selected' : ''}`}
                aria-expanded={open === identity}
                data-testid="sightings-person"
                data-identity={identity}
                onClick={() => setOpen(open === identity ? null : identity)}
              >
                <strong>{identity}</strong> · {plural(list.length, 'sighting', 'sightings')} · last at {list[0].cameraName}, {relativeTime(list[0].at, now)}
              </button>
              {open === identity && <Timeline sightings={list} now={now} />}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
