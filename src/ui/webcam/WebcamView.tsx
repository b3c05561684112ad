// The webcam view: pick a camera, start/stop it, see each person's box with their identity (or
// "unknown"), the stage that answered and the distance; the frame rate and the budget; enroll a person
// by clicking their box.

import { useEffect, useRef } from 'react';
import { useWebcamStore } from '../../store/webcam';
import { WebcamControls } from './WebcamControls';
import { WebcamEnroll } from './WebcamEnroll';
import { WebcamOverlay } from './WebcamOverlay';
import { WebcamStats } from './WebcamStats';
import { WebcamTracks } from './WebcamTracks';
import './webcam.css';

export function WebcamView() {
  const videoRef = useRef<HTMLVideoElement>(null);
  const error = useWebcamStore((s) => s.error);
  const status = useWebcamStore((s) => s.status);

  useEffect(() => useWebcamStore.getState().connect(), []);
  useEffect(() => {
    void useWebcamStore.getState().refreshCameras();
    // Leaving the view releases the camera.
    return () => useWebcamStore.getState().stop();
  }, []);

  return (
    <section className="webcam" aria-label="Webcam re-identification">
      <WebcamControls videoRef={videoRef} />
      {error && (
        <p className="webcam-error" role="alert" data-testid="webcam-error">
          {error}
        </p>
      )}
      <WebcamStats />
      <div className="webcam-stage" data-status={status}>
        <video ref={videoRef} className="webcam-video" muted playsInline data-testid="webcam-video" />
        <WebcamOverlay />
        {status !== 'running' && <p className="webcam-placeholder">{status === 'starting' ? 'Starting the camera…' : 'Camera off'}</p>}
      </div>
      <WebcamEnroll />
      <WebcamTracks />
    </section>
  );
}
