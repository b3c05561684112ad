import type { RefObject } from 'react';
import { useEngine } from '../../store/engine';
import { WEBCAM } from '../../config';
import { useWebcamStore } from '../../store/webcam';
import { thresholdFor } from '../../webcam/threshold';

export function WebcamControls({ videoRef }: { videoRef: RefObject<HTMLVideoElement | null> }) {
  const status = useWebcamStore((s) => s.status);
  const engineReady = useEngine((s) => s.status === 'ready');
  const cameras = useWebcamStore((s) => s.cameras);
  const cameraId = useWebcamStore((s) => s.cameraId);
  const budgetMs = useWebcamStore((s) => s.budgetMs);
  const thresholdScale = useWebcamStore((s) => s.thresholdScale);
  const thresholds = useWebcamStore((s) => s.thresholds);
  const { selectCamera, start, stop, setBudget, setThresholdScale } = useWebcamStore.getState();

  return (
    <div className="webcam-controls">
      <label>
        Camera{' '}
        <select data-testid="webcam-camera" value={cameraId ?? ''} disabled={status !== 'idle' || cameras.length === 0} onChange={(e) => selectCamera(e.target.value)}>
          {cameras.length === 0 && <option value="">default camera</option>}
          {cameras.map((c) => (
            <option key={c.deviceId} value={c.deviceId}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        data-testid="webcam-start"
        disabled={status !== 'idle' || !engineReady}
        title={engineReady ? undefined : 'Waiting for the model to load'}
        onClick={() => videoRef.current && void start(videoRef.current)}
      >
        Start
      </button>
      <button type="button" data-testid="webcam-stop" disabled={status !== 'running'} onClick={stop}>
        Stop
      </button>
      <label title="The whole frame: person detection plus every person's re-identification">
        Frame budget{' '}
        <input
          type="range"
          data-testid="webcam-budget"
          min={WEBCAM.budgetRange.min}
          max={WEBCAM.budgetRange.max}
          step={WEBCAM.budgetRange.step}
          value={budgetMs}
          onChange={(e) => setBudget(Number(e.target.value))}
        />{' '}
        <output>{budgetMs} ms</output>
      </label>
      <label title={`Unknown above the threshold of the answer's stage (${thresholds.source === 'gallery' ? 'calibrated on the gallery' : 'defaults: the gallery needs a repeated identity and two identities to calibrate'})`}>
        Unknown threshold{' '}
        <input
          type="range"
          data-testid="webcam-threshold"
          min={WEBCAM.thresholdScaleRange.min}
          max={WEBCAM.thresholdScaleRange.max}
          step={WEBCAM.thresholdScaleRange.step}
          value={thresholdScale}
          onChange={(e) => setThresholdScale(Number(e.target.value))}
        />{' '}
        <output>
          ×{thresholdScale.toFixed(2)} (fused {thresholdFor(thresholds, 'fused', thresholdScale).toFixed(2)}, {thresholds.source === 'gallery' ? 'calibrated' : 'default'})
        </output>
      </label>
    </div>
  );
}
