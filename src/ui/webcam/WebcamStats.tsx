import { useWebcamStore } from '../../store/webcam';

export function WebcamStats() {
  const stats = useWebcamStore((s) => s.stats);
  const budgetMs = useWebcamStore((s) => s.budgetMs);
  const over = stats !== null && stats.lastFrameMs > stats.lastBudgetMs;
  return (
    <dl className="webcam-stats">
      <dt>Frames/s</dt>
      <dd data-testid="webcam-fps">{stats ? stats.fps.toFixed(1) : '–'}</dd>
      <dt>Frame time / budget</dt>
      <dd data-testid="webcam-frame-ms" className={over ? 'webcam-over' : undefined}>
        {stats ? `${stats.lastFrameMs.toFixed(1)} / ${stats.lastBudgetMs} ms` : `– / ${budgetMs} ms`}
      </dd>
      <dt>Frame grab + detector</dt>
      <dd data-testid="webcam-detector-ms">
        {stats ? `${stats.lastGrabMs.toFixed(1)} + ${stats.lastDetectorMs.toFixed(1)} ms (input ${stats.lastDetectorSide} px)` : '–'}
      </dd>
      <dt>Frames over budget</dt>
      <dd>
        <span data-testid="webcam-overruns">{stats?.overruns ?? 0}</span> of {stats?.frames ?? 0}
      </dd>
    </dl>
  );
}
