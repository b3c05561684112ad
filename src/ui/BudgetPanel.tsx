// The frame budget: a slider in ms whose top is no limit (saved on this device) and, from the calibrated
// costs, which stage each budget reaches.

import { budgetForStage, costsLayout, stageForBudget, stageKey } from '../engine';
import { useEngine } from '../store/engine';
import { useSettings } from '../store/settings';
import { budgetAt, budgetLabel, isNoLimit, sliderPosition, sliderTop } from './budgetScale';
import { stageLabel } from './stageLabel';

const fmt = (ms: number) => (ms < 1 ? ms.toFixed(2) : ms < 10 ? ms.toFixed(1) : Math.round(ms).toString());

export function BudgetPanel() {
  const costs = useEngine((s) => s.costs);
  const recalibrate = useEngine((s) => s.recalibrate);
  const ready = useEngine((s) => s.status === 'ready');
  const { budgetMs, flip, setBudget } = useSettings();
  const top = sliderTop(costs, flip, budgetMs);
  const reached = costs ? stageForBudget(costs, budgetMs, flip) : null;
  const stages = costs ? costsLayout(costs).ids : [];

  return (
    <section className="panel budget" aria-labelledby="budget-title">
      <h2 id="budget-title">Time budget</h2>
      <label className="field slider">
        <span>
          Budget per query: <output data-testid="budget-value">{budgetLabel(budgetMs)}</output>
        </span>
        <input
          type="range"
          data-testid="budget-slider"
          min={1}
          max={top}
          step={1}
          value={sliderPosition(budgetMs, top)}
          list="budget-stage-marks"
          onChange={(e) => setBudget(budgetAt(Number(e.target.value), top))}
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
            {isNoLimit(budgetMs) ? 'No limit: every query reaches' : 'This budget reaches'}{' '}
            <strong data-testid="budget-stage">{reached && stageLabel(reached)}</strong>
            {isNoLimit(budgetMs) ? ', however long this device takes' : ''}
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
