/** Summary of a sample of measurements (milliseconds unless a section says otherwise). */
export interface Summary {
  n: number;
  median: number;
  /** Nearest-rank 99th percentile: with fewer than 100 samples it is the maximum. */
  p99: number;
  min: number;
  max: number;
  p25: number;
  p75: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mid = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return {
    n,
    median: n ? mid : Number.NaN,
    p99: percentile(sorted, 99),
    min: sorted[0] ?? Number.NaN,
    max: sorted[n - 1] ?? Number.NaN,
    p25: percentile(sorted, 25),
    p75: percentile(sorted, 75),
    mean: n ? sorted.reduce((s, x) => s + x, 0) / n : Number.NaN,
  };
}

/** Rounds for the JSON file: 3 significant decimals below 10, fewer above. */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  const abs = Math.abs(x);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function roundSummary(s: Summary): Summary {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === 'n' ? v : round(v)])) as unknown as Summary;
}

/** "412 ms" / "0.183 ms" — milliseconds with sensible precision. */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const abs = Math.abs(x);
  if (abs >= 100) return `${x.toFixed(0)} ms`;
  if (abs >= 10) return `${x.toFixed(1)} ms`;
  if (abs >= 1) return `${x.toFixed(2)} ms`;
  return `${x.toFixed(3)} ms`;
}

/** "min–max" of a summary, in ms. */
export function spread(s: Summary): string {
  return `${ms(s.min).replace(' ms', '')}–${ms(s.max)}`;
}

export function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : '–';
}

export function fmtInt(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–';
}
