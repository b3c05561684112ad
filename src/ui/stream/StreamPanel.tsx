// Stream mode: replay the gallery as a budgeted query stream. The user picks the routing policy and the
// average budget; the panel shows the running average cost, the exit histogram, the stage that answered
// each query, and the accuracy–budget curves of this gallery.
import type { StageKey } from '../../engine';
import { ROUTING_POLICIES, type RoutingPolicy } from '../../engine/stream';
import { useGallery } from '../../store/gallery';
import { MAX_STREAM_QUERIES, useStream } from '../../store/stream';
import { CurveChart } from './CurveChart';

const POLICY_COLOURS: Record<RoutingPolicy, string> = { random: '#888', distance: '#1f77b4', margin: '#d62728' };
const exitLabel = (exit: StageKey) => (exit === 'fused' ? 'full (fused)' : `stage ${exit}`);

export function StreamPanel() {
  const entryCount = useGallery((s) => s.entries.length);
  const { policy, budgetMs, status, progress, run, exitCosts, setPolicy, setBudget, replay } = useStream();
  const costs = exitCosts?.costs ?? null;
  const full = costs ? costs[costs.length - 1] : 0;
  const budget = costs ? Math.min(Math.max(budgetMs ?? (costs[0] + full) / 2, costs[0]), full) : 0;

  return (
    <section className="panel stream" aria-labelledby="stream-title" data-testid="stream-panel">
      <h2 id="stream-title">Stream mode</h2>
      <p className="muted">
        Replays the gallery as a stream of queries (each image against all the others, up to {MAX_STREAM_QUERIES}). Each query stops at
        the stage the routing policy picks, so that the average cost stays within the budget.
      </p>
      {!costs ? (
        <p className="muted">Waiting for the model and its calibration…</p>
      ) : (
        <>
          <label className="field">
            <span>Policy</span>
            <select data-testid="stream-policy" value={policy} onChange={(e) => setPolicy(e.target.value as RoutingPolicy)}>
              {ROUTING_POLICIES.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <label className="field slider">
            <span>
              Average budget per query: <output data-testid="stream-budget">{budget.toFixed(2)} ms</output>
            </span>
            <input
              type="range"
              data-testid="stream-budget-slider"
              min={costs[0]}
              max={full}
              step={(full - costs[0]) / 100}
              value={budget}
              onChange={(e) => setBudget(Number(e.target.value))}
            />
          </label>
          <button type="button" data-testid="stream-run" disabled={status === 'running' || entryCount < 2} onClick={() => void replay()}>
            {status === 'running' ? `Comparing… ${Math.round(100 * progress)}%` : 'Replay the gallery as a stream'}
          </button>
        </>
      )}
      {run && <StreamResults />}
    </section>
  );
}

function StreamResults() {
  const run = useStream((s) => s.run);
  if (!run) return null;
  const max = Math.max(...run.exits, 1);
  return (
    <div className="stream-results">
      <p data-testid="stream-summary">
        {run.queries.length} queries, policy <strong>{run.policy}</strong>: average cost{' '}
        <strong data-testid="stream-average">{run.averageCost.toFixed(2)} ms</strong> for a budget of {run.budgetMs.toFixed(2)} ms; rank-1{' '}
        <strong data-testid="stream-rank1">{(100 * run.rank1).toFixed(1)}%</strong>
        {run.skipped > 0 && ` (${run.skipped} images without another image of their identity were left out)`}.
      </p>
      <table className="stream-histogram" data-testid="stream-histogram">
        <caption>Queries answered at each exit</caption>
        <tbody>
          {run.exits.map((n, i) => (
            <tr key={run.exitStages[i]} data-exit={run.exitStages[i]}>
              <th scope="row">{exitLabel(run.exitStages[i])}</th>
              <td>{run.costs[i].toFixed(2)} ms</td>
              <td>
                <span className="bar" style={{ display: 'inline-block', width: `${(100 * n) / max}px`, height: '0.8em', background: '#1f77b4' }} />{' '}
                {n}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="stream-curves">
        <CurveChart
          title="Each query at one exit (anytime)"
          xLabel="ms per query"
          series={[{ name: 'rank-1', colour: '#2ca02c', points: run.curves.anytime }]}
        />
        <CurveChart
          title="Budgeted stream"
          xLabel="average budget (ms)"
          series={ROUTING_POLICIES.map((p) => ({ name: p, colour: POLICY_COLOURS[p], points: run.curves.budgeted[p] }))}
        />
      </div>
      <details>
        <summary>Per query: the stage that answered</summary>
        <ol className="stream-queries" data-testid="stream-queries">
          {run.queries.map((q) => (
            <li key={q.entry.id} data-exit={run.exitStages[q.exit - 1]} data-correct={q.correct}>
              {q.entry.fileName} ({q.entry.identity}): {exitLabel(run.exitStages[q.exit - 1])}, {q.correct ? 'right' : 'wrong'} identity
            </li>
          ))}
        </ol>
      </details>
    </div>
  );
}
