interface ProgressBarProps {
  /** 0…1, or null when the amount of work is unknown. */
  value: number | null;
  label: string;
  testId?: string;
}

export function ProgressBar({ value, label, testId }: ProgressBarProps) {
  return (
    <div className="progress" data-testid={testId}>
      <progress max={1} value={value ?? undefined} aria-label={label} />
      <span className="progress-label">
        {label}
        {value !== null && ` ${Math.round(value * 100)}%`}
      </span>
    </div>
  );
}
