import { describe, expect, it } from 'vitest';
import { CameraError, cameraError } from './camera';

describe('cameraError', () => {
  it('tells denied permission, no camera and a busy camera apart', () => {
    expect(cameraError(new DOMException('Permission denied', 'NotAllowedError'))).toMatchObject({ kind: 'denied', message: expect.stringMatching(/permission was denied/i) });
    expect(cameraError(new DOMException('Requested device not found', 'NotFoundError')).kind).toBe('not-found');
    expect(cameraError(new DOMException('', 'OverconstrainedError')).kind).toBe('not-found');
    expect(cameraError(new DOMException('Could not start video source', 'NotReadableError')).kind).toBe('busy');
  });

  it('keeps the browser’s words for anything else, and passes camera errors through', () => {
    const e = cameraError(new TypeError('boom'));
    expect(e.kind).toBe('failed');
    expect(e.message).toContain('boom');
    const ended = new CameraError('ended', 'The camera stopped sending video.');
    expect(cameraError(ended)).toBe(ended);
  });
});
