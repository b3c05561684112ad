import { useState } from 'react';
import { useWebcamStore } from '../../store/webcam';

/** Shown once a person's box is clicked: type a name, and their next few crops join the gallery. */
export function WebcamEnroll() {
  const selected = useWebcamStore((s) => s.selectedTrack);
  const enroll = useWebcamStore((s) => s.enroll);
  const inView = useWebcamStore((s) => s.people.some((p) => p.track === s.selectedTrack));
  const [name, setName] = useState('');
  const busy = enroll?.phase === 'capturing' || enroll?.phase === 'saving';
  return (
    <div className="webcam-enroll">
      {selected !== null && inView && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void useWebcamStore.getState().enrollPerson(selected, name);
          }}
        >
          <label>
            Name of person #{selected}{' '}
            <input data-testid="webcam-enroll-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus disabled={busy} />
          </label>
          <button type="submit" data-testid="webcam-enroll" disabled={busy || name.trim() === ''}>
            Enroll
          </button>
        </form>
      )}
      {selected === null && !enroll && <p className="webcam-hint">Click a person&apos;s box to enroll them.</p>}
      {enroll && (
        <p data-testid="webcam-enroll-status" data-phase={enroll.phase} role={enroll.phase === 'failed' ? 'alert' : 'status'}>
          {enroll.message}
        </p>
      )}
    </div>
  );
}
