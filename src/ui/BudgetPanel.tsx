// The frame budget: a slider in ms (saved on this device) and, from the calibrated costs, which stage each
// budget reaches.

import { budgetForStage, costsLayout, stageForBudget, stageKey, type StageCosts } from '../engine';
import { useEngine } from '../store/engine';
import { useSettings } from '../store/settings';
import { stageLabel } from './stageLabel';

/** The slider reaches ten times a full pass (room for a busy device, where steps take longer than
 * calibrated), at least 100 ms, rounded up to a readable number. */
function sliderMax(costs: StageCosts | null, flip: boolean): number {
  const full = costs ? budgetForStage(costs, 'fused', flip) : 0;
  const want = Math.max(100, 10 * full);
  const step = 10 ** Math.floor(Math.log10(want));
  return Math.ceil(want / step) * step;
}

const fmt = (ms: number) => (ms < 1 ? ms.toFixed(2) : ms < 10 ? ms.toFixed(1) : Math.round(ms).toString());

export function BudgetPanel() {
  const costs = useEngine((s) => s.costs);
  const recalibrate = useEngine((s) => s.recalibrate);
  const ready = useEngine((s) => s.status === 'ready');
  const { budgetMs, flip, setBudget } = useSettings();
  const max = sliderMax(costs, flip);
  const reached = costs ? stageForBudget(costs, budgetMs, flip) : null;
  const stages = costs ? costsLayout(costs).ids : [];

  return (
    <section className="panel budget" aria-labelledby="budget-title">
      <h2 id="budget-title">Time budget</h2>
      <label className="field slider">
        <span>
          Budget per query: <output data-testid="budget-value">{budgetMs} ms</output>
        </span>
        <input
          type="range"
          data-testid="budget-slider"
          min={1}
          max={Math.max(max, budgetMs)}
          step={1}
          value={budgetMs}
          list="budget-stage-marks"
          onChange={(e) => setBudget(Number(e.target.value))}
        />
      </label>
      {costs && (
        <>
          <datalist id="budget-stage-marks">
            {stages.slice(1).map((s) => (
              <option key={stageKey(s)} value={Math.ceil(budgetForStage(costs, s, flip))} label={stageLabel(s)} />
            ))}
          </datalist>
          <p>
            This budget reaches <strong data-testid="budget-stage">{reached && stageLabel(reached)}</strong>
            {flip && ' (with flip averaging)'}.
          </p>
          <table className="stage-costs">
            <caption>
              Measured on this device ({costs.backend}){costs.samples > 0 && `, refined by ${costs.samples} real runs`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Embedding</th>
                <th scope="col">Step cost</th>
                <th scope="col">Budget needed</th>
              </tr>
            </thead>
            <tbody>
              {stages.map((s, i) => (
                <tr key={stageKey(s)} className={s === reached ? 'current' : undefined}>
                  <th scope="row">{stageLabel(s)}</th>
                  <td>{fmt((flip ? (costs.flipMs ?? costs.ms.map((m) => 2 * m)) : costs.ms)[i])} ms</td>
                  <td>{i === 0 ? 'always runs' : `≥ ${fmt(budgetForStage(costs, s, flip))} ms`}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" onClick={() => void recalibrate()} disabled={!ready}>
            Measure again
          </button>
        </>
      )}
    </section>
  );
}
