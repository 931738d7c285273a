/** How the console writes times, ratios and numbers: UTC with relative time, percentages with units. */

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** `2026-11-27 15:39 UTC`. */
export function utc(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `3 minutes ago`, relative to `now`. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const ms = new Date(iso).getTime() - now;
  if (Number.isNaN(ms)) return '';
  for (const [unit, size] of UNITS) {
    if (Math.abs(ms) >= size || unit === 'second') return relative.format(Math.round(ms / size), unit);
  }
  return '';
}

/** 0.9123 → `91.2 %`; null → `—`. */
export function percent(ratio: number | null | undefined, digits = 1): string {
  return ratio === null || ratio === undefined ? '—' : `${(ratio * 100).toFixed(digits)} %`;
}

/** A signed difference of ratios in percentage points: 0.012 → `+1.2 pp`. */
export function points(delta: number | null | undefined): string {
  if (delta === null || delta === undefined) return '—';
  const pp = delta * 100;
  return `${pp >= 0 ? '+' : '−'}${Math.abs(pp).toFixed(1)} pp`;
}

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString('en-US');
}

/** A P&L in the dataset's units, signed, two decimals: 1234.5 → `+1,234.50`; null → `—`. */
export function signed(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined) return '—';
  const rounded = Number(n.toFixed(digits));
  const text = Math.abs(rounded).toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return `${rounded > 0 ? '+' : rounded < 0 ? '−' : ''}${text}`;
}
