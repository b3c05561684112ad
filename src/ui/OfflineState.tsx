import { useOffline } from '../store/offline';

const TEXT = {
  dev: 'Offline use is set up by the production build (npm start).',
  unsupported: 'Offline use is not available in this browser.',
  installing: 'Preparing offline use…',
  ready: 'Ready to work offline.',
  failed: 'Offline use could not be set up.',
} as const;

/** Whether the service worker has cached the app and model, so a reload works offline. */
export function OfflineState() {
  const state = useOffline((s) => s.state);
  return (
    <p className={`small ${state === 'failed' ? 'warning' : 'muted'}`} data-testid="offline-status" data-state={state}>
      {TEXT[state]}
    </p>
  );
}
