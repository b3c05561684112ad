import { useWebcamStore } from '../../store/webcam';
import { identityLabel, stageAttr, stageText } from './labels';
import { LastSeen } from './LastSeen';

/** One button per person in view, placed over the video in % of the frame so it follows any display size. */
export function WebcamOverlay() {
  const people = useWebcamStore((s) => s.people);
  const frame = useWebcamStore((s) => s.frameSize);
  const selected = useWebcamStore((s) => s.selectedTrack);
  const select = useWebcamStore((s) => s.select);
  if (!frame) return null;
  return (
    <div className="webcam-overlay">
      {people.map((p) => {
        const identity = identityLabel(p);
        const stage = stageAttr(p.stage);
        const distance = p.decision?.distance;
        return (
          <button
            type="button"
            key={p.track}
            className={`webcam-person${identity === 'unknown' ? ' webcam-unknown' : ''}${selected === p.track ? ' webcam-selected' : ''}`}
            data-testid="webcam-person"
            data-identity={identity}
            data-stage={stage}
            data-track={p.track}
            title="Click to enroll this person"
            style={{
              left: `${(100 * p.box.x) / frame.width}%`,
              top: `${(100 * p.box.y) / frame.height}%`,
              width: `${(100 * p.box.width) / frame.width}%`,
              height: `${(100 * p.box.height) / frame.height}%`,
            }}
            onClick={() => select(selected === p.track ? null : p.track)}
          >
            <span className="webcam-label">
              {identity} · {stageText(p.stage)}
              {distance != null && ` · ${distance.toFixed(2)}`}
            </span>
            {p.decision?.identity != null && <LastSeen identity={p.decision.identity} towardsLeft={p.box.x + p.box.width / 2 > frame.width / 2} />}
          </button>
        );
      })}
    </div>
  );
}
