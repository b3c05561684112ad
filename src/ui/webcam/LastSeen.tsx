import { useHub } from '../../store/hub';
import { relativeTime, useNow } from '../hub/relativeTime';

/** Where and when the hub last saw a recognised person ("seen at Front door, 2 min ago"), when it has.
 * `towardsLeft`: the person is in the frame's right half, so the label grows leftwards from the box's
 * right edge and stays inside the frame. */
export function LastSeen({ identity, towardsLeft }: { identity: string; towardsLeft: boolean }) {
  // The sightings are read for their changes; which one to show is the hub service's choice.
  useHub((s) => s.sightings);
  const lastSeen = useHub((s) => s.lastSeen);
  const now = useNow();
  const seen = lastSeen(identity);
  if (!seen) return null;
  return (
    <span className={`webcam-last-seen${towardsLeft ? ' towards-left' : ''}`} data-testid="webcam-last-seen">
      seen at {seen.cameraName}, {relativeTime(seen.at, now)}
    </span>
  );
}
