import { useWebcamStore } from '../../store/webcam';
import { identityLabel, stageText } from './labels';

/** Per tracked person: how deep the anytime engine has got on them so far (it resumes across frames). */
export function WebcamTracks() {
  const people = useWebcamStore((s) => s.people);
  if (people.length === 0) return null;
  return (
    <table className="webcam-tracks" data-testid="webcam-tracks">
      <thead>
        <tr>
          <th>Track</th>
          <th>Identity</th>
          <th>Stage reached</th>
          <th>Distance / threshold</th>
        </tr>
      </thead>
      <tbody>
        {people.map((p) => {
          return (
            <tr key={p.track}>
              <td>#{p.track}</td>
              <td>{identityLabel(p)}</td>
              <td>
                <meter min={0} max={p.stepCount} value={p.stepsReached} title={`${p.stepsReached} of ${p.stepCount} steps`} /> {stageText(p.stage)}
                {p.partsThisFrame > 0 && ` (+${p.partsThisFrame} this frame)`}
              </td>
              <td>{p.decision?.distance != null ? `${p.decision.distance.toFixed(3)} / ${p.decision.threshold.toFixed(3)}` : '–'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
