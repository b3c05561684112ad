// Which backend runs the model, why Automatic mode chose it and why the others were not used; the backend
// selector; the model's download / warm-up / calibration progress.

import { BACKEND_ORDER, type EngineProgress } from '../engine';
import { useEngine } from '../store/engine';
import { useSettings, type BackendChoice } from '../store/settings';
import { ProgressBar } from './ProgressBar';

const PHASE_LABEL: Record<EngineProgress['phase'], string> = {
  backend: 'Starting the backend…',
  download: 'Downloading the model…',
  warmup: 'Warming up…',
  calibrate: 'Measuring the cost of each stage on this device…',
};

const BACKEND_LABEL: Record<BackendChoice, string> = {
  auto: 'Automatic (fastest here)',
  webgpu: 'WebGPU',
  webgl: 'WebGL',
  wasm: 'WebAssembly (wasm)',
  cpu: 'CPU (plain JavaScript)',
};

export function EnginePanel() {
  const { status, progress, backend, error } = useEngine();
  const choice = useSettings((s) => s.backend);
  const selectBackend = useEngine((s) => s.selectBackend);
  const start = useEngine((s) => s.start);

  return (
    <section className="panel engine" aria-labelledby="engine-title">
      <h2 id="engine-title">Engine</h2>
      <dl className="facts">
        <dt>Backend</dt>
        <dd>
          <span data-testid="backend" className="badge">
            {backend?.active ?? '…'}
          </span>
          {backend?.detail && <span className="muted"> ({backend.detail})</span>}
        </dd>
        <dt>Model</dt>
        <dd>
          <span data-testid="model-status" data-status={status} className={`status status-${status}`}>
            {status === 'ready' ? 'ready' : status === 'error' ? 'failed to load' : 'loading…'}
          </span>
          {status === 'error' && (
            <button type="button" className="inline" onClick={() => void start()}>
              Retry
            </button>
          )}
        </dd>
      </dl>
      {progress && <ProgressBar value={progress.fraction} label={PHASE_LABEL[progress.phase]} testId="model-progress" />}
      {status === 'error' && error && <p className="muted">{error}</p>}

      <label className="field">
        <span>Run on</span>
        <select
          data-testid="backend-select"
          value={choice}
          onChange={(e) => void selectBackend(e.target.value as BackendChoice)}
        >
          {(['auto', ...BACKEND_ORDER] as BackendChoice[]).map((name) => (
            <option key={name} value={name}>
              {BACKEND_LABEL[name]}
            </option>
          ))}
        </select>
      </label>

      {backend?.choice && (
        <p className="muted" data-testid="backend-choice">
          {backend.choice}
        </p>
      )}
      {backend && backend.skipped.length > 0 && (
        <div className="skipped">
          <p>Other backends not used:</p>
          <ul>
            {backend.skipped.map((s) => (
              <li key={s.name}>
                <strong>{s.name}</strong>: {s.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
