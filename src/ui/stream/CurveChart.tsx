// A small SVG line chart: rank-1 against cost, one polyline per series.

export interface ChartSeries {
  name: string;
  colour: string;
  points: { cost: number; rank1: number }[];
}

const W = 360;
const H = 220;
const M = { left: 44, right: 12, top: 12, bottom: 36 };

export function CurveChart({ title, xLabel, series }: { title: string; xLabel: string; series: ChartSeries[] }) {
  const all = series.flatMap((s) => s.points);
  const x0 = Math.min(...all.map((p) => p.cost));
  const x1 = Math.max(...all.map((p) => p.cost));
  const px = (x: number) => M.left + ((x - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - y * (H - M.top - M.bottom);
  return (
    <figure className="curve-chart">
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={title}>
        <rect x={M.left} y={M.top} width={W - M.left - M.right} height={H - M.top - M.bottom} fill="none" stroke="currentColor" strokeOpacity={0.4} />
        {[0, 0.25, 0.5, 0.75, 1].map((y) => (
          <text key={y} x={M.left - 4} y={py(y) + 4} textAnchor="end" fontSize={10} fill="currentColor">
            {Math.round(100 * y)}%
          </text>
        ))}
        <text x={M.left} y={H - 20} fontSize={10} fill="currentColor">
          {x0.toFixed(1)}
        </text>
        <text x={W - M.right} y={H - 20} textAnchor="end" fontSize={10} fill="currentColor">
          {x1.toFixed(1)}
        </text>
        <text x={(M.left + W - M.right) / 2} y={H - 6} textAnchor="middle" fontSize={11} fill="currentColor">
          {xLabel}
        </text>
        {series.map((s) => (
          <g key={s.name} data-series={s.name}>
            <polyline points={s.points.map((p) => `${px(p.cost)},${py(p.rank1)}`).join(' ')} fill="none" stroke={s.colour} strokeWidth={2} />
            {s.points.map((p, i) => (
              <circle key={i} cx={px(p.cost)} cy={py(p.rank1)} r={3} fill={s.colour} />
            ))}
          </g>
        ))}
      </svg>
      <figcaption>
        {title}:{' '}
        {series.map((s) => (
          <span key={s.name} style={{ color: s.colour, marginRight: '0.6rem' }}>
            ● {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
