// This device and the hub: the connection, what is shared and waiting, the camera name the device gives
// what it adds and sees, and leaving the hub.

import { useRef, useState, type KeyboardEvent } from 'react';
import { useHub, type HubConnection } from '../../store/hub';

function statusText(connection: HubConnection, progress: { received: number; total: number } | null): string {
  switch (connection) {
    case 'not-joined':
      return 'Not joined';
    case 'connecting':
      return 'Connecting…';
    case 'syncing':
      return progress ? `Syncing ${progress.received} / ${progress.total}` : 'Syncing…';
    case 'connected':
      return 'Connected';
    case 'offline':
      return 'Offline';
  }
}

function Count({ testId, label, count }: { testId: string; label: string; count: number }) {
  return (
    <>
      <dt>{label}</dt>
      <dd data-testid={testId} data-count={count}>
        {count}
      </dd>
    </>
  );
}

/** The camera name, edited in place: Enter or leaving the field commits it, Escape puts the saved one back.
 * A name the service refuses (it says why) gives way to the saved one. */
function CameraName() {
  const saved = useHub((s) => s.cameraName);
  const setCameraName = useHub((s) => s.setCameraName);
  const [draft, setDraft] = useState<string | null>(null);
  const cancelled = useRef(false);

  const commit = async (value: string) => {
    if (cancelled.current || value === saved) {
      cancelled.current = false;
      setDraft(null);
      return;
    }
    try {
      await setCameraName(value);
    } finally {
      setDraft(null);
    }
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') e.currentTarget.blur();
    if (e.key === 'Escape') {
      cancelled.current = true;
      e.currentTarget.blur();
    }
  };

  return (
    <>
      <label className="field">
        <span>This device’s camera name</span>
        <input
          type="text"
          value={draft ?? saved}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
          onBlur={(e) => void commit(e.currentTarget.value)}
          aria-describedby="hub-camera-help"
          data-testid="hub-camera-name"
        />
      </label>
      <p id="hub-camera-help" className="muted small">
        Images this device adds and people its webcam recognises are labelled with it (“seen at Front door”).
      </p>
    </>
  );
}

export function HubPanel() {
  const connection = useHub((s) => s.connection);
  const progress = useHub((s) => s.syncProgress);
  const problem = useHub((s) => s.problem);
  const counts = useHub((s) => s.counts);
  const leave = useHub((s) => s.leave);
  const joined = connection !== 'not-joined';
  return (
    <section className="panel hub" aria-labelledby="hub-title" data-testid="hub-panel">
      <h2 id="hub-title">
        Hub:{' '}
        <span className={`hub-status hub-status-${connection}`} data-testid="hub-status" data-status={connection} role="status">
          {statusText(connection, progress)}
        </span>
      </h2>
      {problem && (
        <p className="warning" data-testid="hub-problem">
          {problem}
        </p>
      )}
      {joined ? (
        <p className="muted small">
          Gallery entries added on any device of this hub appear on every other one within seconds, and each device’s webcam
          recognises them. Offline, this device keeps working; what it adds meanwhile is shared when the hub is back.
        </p>
      ) : (
        <p className="muted small" data-testid="hub-not-joined">
          This device is in no hub: its gallery stays in this browser. To share it between devices, run <code>npm start</code> on
          one computer and open the join link it prints (it carries the hub’s secret) on each device.
        </p>
      )}
      <dl className="facts">
        <Count testId="hub-entries" label="Shared entries" count={counts.entries} />
        <Count testId="hub-pending" label="Waiting to be sent" count={counts.pending} />
        <Count testId="hub-sightings" label="Sightings" count={counts.sightings} />
      </dl>
      <CameraName />
      {joined && (
        <div className="row wrap">
          <button type="button" className="danger" onClick={() => void leave()} data-testid="hub-leave">
            Leave this hub
          </button>
          <span className="muted small">The gallery stays on this device.</span>
        </div>
      )}
    </section>
  );
}
