// The camera: listing devices, opening one, and turning every way it can fail into a message a person
// can act on. DOM only (no React).

export interface CameraDevice {
  deviceId: string;
  label: string;
}

export type CameraErrorKind = 'unsupported' | 'denied' | 'not-found' | 'busy' | 'ended' | 'failed';

export class CameraError extends Error {
  constructor(
    readonly kind: CameraErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'CameraError';
  }
}

const MESSAGES: Record<CameraErrorKind, string> = {
  unsupported: 'This browser cannot use a camera here (camera access needs https or localhost).',
  denied: 'Camera permission was denied. Allow the camera for this site in the browser settings, then press Start again.',
  'not-found': 'No camera was found. Connect one, then press Start again.',
  busy: 'The camera could not be started: another application may be using it.',
  ended: 'The camera stopped sending video (it was disconnected or switched off).',
  failed: 'The camera could not be started.',
};

/** A CameraError for whatever getUserMedia (or the stream) threw. */
export function cameraError(e: unknown): CameraError {
  if (e instanceof CameraError) return e;
  const name = e instanceof DOMException || e instanceof Error ? e.name : '';
  const kind: CameraErrorKind =
    name === 'NotAllowedError' || name === 'SecurityError'
      ? 'denied'
      : name === 'NotFoundError' || name === 'OverconstrainedError'
        ? 'not-found'
        : name === 'NotReadableError' || name === 'AbortError'
          ? 'busy'
          : 'failed';
  const detail = e instanceof Error && e.message ? ` (${e.message})` : '';
  return new CameraError(kind, MESSAGES[kind] + (kind === 'failed' ? detail : ''));
}

function mediaDevices(): MediaDevices {
  if (typeof navigator === 'undefined' || !navigator.mediaDevices?.getUserMedia) throw new CameraError('unsupported', MESSAGES.unsupported);
  return navigator.mediaDevices;
}

/** The video inputs. Labels are empty until the user has granted camera access once. */
export async function listCameras(): Promise<CameraDevice[]> {
  const devices = await mediaDevices().enumerateDevices();
  return devices
    .filter((d) => d.kind === 'videoinput')
    .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Camera ${i + 1}` }));
}

export interface OpenCamera {
  stream: MediaStream;
  deviceId: string;
  stop(): void;
}

/**
 * Opens a camera (the given one, else the default) and calls `onEnded` once if it stops by itself
 * (unplugged, switched off, permission revoked) — not when stop() is called.
 */
export async function openCamera(deviceId: string | undefined, onEnded: (e: CameraError) => void): Promise<OpenCamera> {
  let stream: MediaStream;
  try {
    stream = await mediaDevices().getUserMedia({
      video: { ...(deviceId ? { deviceId: { exact: deviceId } } : {}), width: { ideal: 640 }, height: { ideal: 480 } },
      audio: false,
    });
  } catch (e) {
    throw cameraError(e);
  }
  const [track] = stream.getVideoTracks();
  if (!track) {
    stream.getTracks().forEach((t) => t.stop());
    throw new CameraError('not-found', MESSAGES['not-found']);
  }
  let stopped = false;
  track.addEventListener('ended', () => {
    if (!stopped) onEnded(new CameraError('ended', MESSAGES.ended));
  });
  return {
    stream,
    deviceId: track.getSettings().deviceId ?? deviceId ?? '',
    stop: () => {
      stopped = true;
      stream.getTracks().forEach((t) => t.stop());
    },
  };
}
