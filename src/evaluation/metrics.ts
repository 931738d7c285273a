/**
 * The figures of an evaluation as pure functions. Scoring a chunk of rows
 * produces a {@link Tally}: counts and sums only, so tallies of chunks merge
 * into the tally of the whole dataset in any grouping (the reduce step merges
 * them in chunk order, so float sums are reproducible too). {@link summarize}
 * turns the merged tally into the published figures.
 *
 * P&L convention (the dataset's `pnl` column is the outcome of acting on the
 * row's label, the strategy that turned out right): following a version earns
 * `pnl` on a row where it named the label and loses `|pnl|` where it named
 * another strategy. P&L-weighted accuracy is Σ|pnl| over the rows it got right
 * divided by Σ|pnl| over all rows: a big day counts more than a quiet one.
 */

/** Disagreement row indices kept per evaluation (a deterministic sample, see {@link sampleRank}). */
export const DISAGREEMENT_SAMPLE_SIZE = 100;

export interface MonthTally {
  rows: number;
  correct: number;
  /** Rows the comparison version got right (0 without a comparison). */
  comparisonCorrect: number;
}

export interface PnlTally {
  /** Σ pnl over all rows. */
  total: number;
  /** Σ |pnl| over all rows. */
  absTotal: number;
  /** Σ |pnl| over the rows the candidate got right. */
  absCorrect: number;
  /** P&L of following the candidate (see the module comment). */
  following: number;
  /** The same for the comparison version (0 without a comparison). */
  comparisonAbsCorrect: number;
  comparisonFollowing: number;
}

export interface ComparisonTally {
  correct: number;
  /** Rows where candidate and comparison named the same strategy. */
  agreements: number;
  /** Dataset row indices of disagreements: the {@link DISAGREEMENT_SAMPLE_SIZE} of smallest {@link sampleRank}. */
  disagreementSample: number[];
}

/** Counts and sums of some rows; JSON-serializable (a chunk's partial result) and mergeable. */
export interface Tally {
  rows: number;
  correct: number;
  /** true label → predicted label → rows. */
  confusion: Record<string, Record<string, number>>;
  comparison: ComparisonTally | null;
  /** `YYYY-MM` (UTC) → counts; null without a timestamp column. */
  months: Record<string, MonthTally> | null;
  pnl: PnlTally | null;
}

/** The rows of one chunk as scoring sees them: labels, predictions and the optional columns, index-aligned. */
export interface ScoredRows {
  /** Dataset row index of the first row. */
  rowStart: number;
  labels: readonly string[];
  predicted: readonly string[];
  comparisonPredicted?: readonly string[] | null;
  /** Epoch milliseconds per row (null: no timestamp column; NaN: the row has none, it counts in no month). */
  timestamps?: ArrayLike<number> | null;
  pnl?: ArrayLike<number> | null;
}

/**
 * A well-mixed 32-bit rank of a row index: the disagreement sample keeps the
 * rows of smallest rank, so it is spread over the whole dataset, the same in
 * every run, and the union of chunks' samples cut to the smallest ranks is the
 * sample of the whole (merging never depends on how rows were chunked).
 */
export function sampleRank(rowIndex: number): number {
  let h = Math.imul(rowIndex ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function bySampleRank(a: number, b: number): number {
  return sampleRank(a) - sampleRank(b) || a - b;
}

/** `YYYY-MM` of an epoch-milliseconds time, in UTC. */
export function monthOf(epochMs: number): string {
  const d = new Date(epochMs);
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The tally of one chunk's rows. */
export function tallyRows(rows: ScoredRows): Tally {
  const n = rows.labels.length;
  const cmp = rows.comparisonPredicted ?? null;
  const tally: Tally = {
    rows: n,
    correct: 0,
    confusion: {},
    comparison: cmp ? { correct: 0, agreements: 0, disagreementSample: [] } : null,
    months: rows.timestamps ? {} : null,
    pnl: rows.pnl
      ? { total: 0, absTotal: 0, absCorrect: 0, following: 0, comparisonAbsCorrect: 0, comparisonFollowing: 0 }
      : null,
  };
  const disagreements: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = rows.labels[i];
    const predicted = rows.predicted[i];
    const right = predicted === label;
    if (right) tally.correct++;
    const row = (tally.confusion[label] ??= {});
    row[predicted] = (row[predicted] ?? 0) + 1;
    let cmpRight = false;
    if (cmp && tally.comparison) {
      cmpRight = cmp[i] === label;
      if (cmpRight) tally.comparison.correct++;
      if (cmp[i] === predicted) tally.comparison.agreements++;
      else disagreements.push(rows.rowStart + i);
    }
    if (rows.timestamps && tally.months && Number.isFinite(rows.timestamps[i])) {
      const month = monthOf(rows.timestamps[i]);
      const m = (tally.months[month] ??= { rows: 0, correct: 0, comparisonCorrect: 0 });
      m.rows++;
      if (right) m.correct++;
      if (cmpRight) m.comparisonCorrect++;
    }
    if (rows.pnl && tally.pnl) {
      const p = rows.pnl[i];
      const abs = Math.abs(p);
      tally.pnl.total += p;
      tally.pnl.absTotal += abs;
      if (right) tally.pnl.absCorrect += abs;
      tally.pnl.following += right ? p : -abs;
      if (cmp) {
        if (cmpRight) tally.pnl.comparisonAbsCorrect += abs;
        tally.pnl.comparisonFollowing += cmpRight ? p : -abs;
      }
    }
  }
  if (tally.comparison)
    tally.comparison.disagreementSample = disagreements.sort(bySampleRank).slice(0, DISAGREEMENT_SAMPLE_SIZE);
  return tally;
}

/** The tally of two disjoint sets of rows. */
export function mergeTallies(a: Tally, b: Tally): Tally {
  const confusion: Tally['confusion'] = {};
  for (const t of [a, b])
    for (const [label, row] of Object.entries(t.confusion)) {
      const into = (confusion[label] ??= {});
      for (const [predicted, count] of Object.entries(row)) into[predicted] = (into[predicted] ?? 0) + count;
    }
  const comparison =
    a.comparison || b.comparison
      ? {
          correct: (a.comparison?.correct ?? 0) + (b.comparison?.correct ?? 0),
          agreements: (a.comparison?.agreements ?? 0) + (b.comparison?.agreements ?? 0),
          disagreementSample: [...(a.comparison?.disagreementSample ?? []), ...(b.comparison?.disagreementSample ?? [])]
            .sort(bySampleRank)
            .slice(0, DISAGREEMENT_SAMPLE_SIZE),
        }
      : null;
  let months: Tally['months'] = null;
  if (a.months || b.months) {
    months = {};
    for (const t of [a, b])
      for (const [month, m] of Object.entries(t.months ?? {})) {
        const into = (months[month] ??= { rows: 0, correct: 0, comparisonCorrect: 0 });
        into.rows += m.rows;
        into.correct += m.correct;
        into.comparisonCorrect += m.comparisonCorrect;
      }
  }
  let pnl: PnlTally | null = null;
  if (a.pnl || b.pnl) {
    const zero: PnlTally = {
      total: 0,
      absTotal: 0,
      absCorrect: 0,
      following: 0,
      comparisonAbsCorrect: 0,
      comparisonFollowing: 0,
    };
    const x = a.pnl ?? zero;
    const y = b.pnl ?? zero;
    pnl = {
      total: x.total + y.total,
      absTotal: x.absTotal + y.absTotal,
      absCorrect: x.absCorrect + y.absCorrect,
      following: x.following + y.following,
      comparisonAbsCorrect: x.comparisonAbsCorrect + y.comparisonAbsCorrect,
      comparisonFollowing: x.comparisonFollowing + y.comparisonFollowing,
    };
  }
  return { rows: a.rows + b.rows, correct: a.correct + b.correct, confusion, comparison, months, pnl };
}

export const EMPTY_TALLY: Tally = Object.freeze({
  rows: 0,
  correct: 0,
  confusion: {},
  comparison: null,
  months: null,
  pnl: null,
}) as Tally;

export interface ClassMetrics {
  label: string;
  /** Of the rows predicted as this label, the share that had it; null when none was predicted. */
  precision: number | null;
  /** Of the rows having this label, the share predicted as it; null when no row has it. */
  recall: number | null;
  /** Harmonic mean of precision and recall (0 when both are 0; null when either is undefined). */
  f1: number | null;
  /** Rows having this label. */
  support: number;
}

export interface ConfusionMatrix {
  /** Row and column order: the model's labels, then labels found only in the dataset (sorted). */
  labels: string[];
  /** matrix[i][j]: rows whose label is labels[i], predicted as labels[j]. */
  matrix: number[][];
}

export interface MonthlyAccuracy {
  month: string;
  rows: number;
  accuracy: number;
  /** Null without a comparison version. */
  comparisonAccuracy: number | null;
}

export interface PnlSummary {
  /** Σ pnl of the dataset (what acting on every label would have made). */
  total: number;
  weightedAccuracy: number | null;
  following: number;
  comparisonWeightedAccuracy: number | null;
  comparisonFollowing: number | null;
}

export interface AgreementSummary {
  rows: number;
  agreements: number;
  rate: number | null;
  /** Up to {@link DISAGREEMENT_SAMPLE_SIZE} dataset row indices where the versions disagree, ascending. */
  disagreementSample: number[];
}

export interface EvaluationMetrics {
  rows: number;
  correct: number;
  accuracy: number | null;
  classes: ClassMetrics[];
  confusion: ConfusionMatrix;
  comparisonAccuracy: number | null;
  monthly: MonthlyAccuracy[] | null;
  pnl: PnlSummary | null;
  agreement: AgreementSummary | null;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

/** The confusion matrix of a tally, in the model's label order (then labels only the dataset has). */
export function confusionMatrix(tally: Tally, modelLabels: readonly string[]): ConfusionMatrix {
  const known = new Set(modelLabels);
  const extra = new Set<string>();
  for (const [label, row] of Object.entries(tally.confusion)) {
    if (!known.has(label)) extra.add(label);
    for (const predicted of Object.keys(row)) if (!known.has(predicted)) extra.add(predicted);
  }
  const labels = [...modelLabels, ...[...extra].sort()];
  const matrix = labels.map((label) => labels.map((predicted) => tally.confusion[label]?.[predicted] ?? 0));
  return { labels, matrix };
}

/** Per-class precision, recall, F1 and support from a confusion matrix. */
export function classMetrics(confusion: ConfusionMatrix): ClassMetrics[] {
  const { labels, matrix } = confusion;
  return labels.map((label, k) => {
    const truePositives = matrix[k][k];
    const support = matrix[k].reduce((s, x) => s + x, 0);
    const predictedAs = matrix.reduce((s, row) => s + row[k], 0);
    const precision = ratio(truePositives, predictedAs);
    const recall = ratio(truePositives, support);
    const f1 =
      precision === null || recall === null
        ? null
        : precision + recall === 0
          ? 0
          : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support };
  });
}

/** Accuracy per month, oldest first (null without a timestamp column). */
export function monthlyAccuracy(tally: Tally): MonthlyAccuracy[] | null {
  if (!tally.months) return null;
  return Object.keys(tally.months)
    .sort()
    .map((month) => {
      const m = tally.months![month];
      return {
        month,
        rows: m.rows,
        accuracy: m.correct / m.rows,
        comparisonAccuracy: tally.comparison ? m.comparisonCorrect / m.rows : null,
      };
    });
}

export function pnlSummary(tally: Tally): PnlSummary | null {
  const p = tally.pnl;
  if (!p) return null;
  const compared = tally.comparison !== null;
  return {
    total: p.total,
    weightedAccuracy: ratio(p.absCorrect, p.absTotal),
    following: p.following,
    comparisonWeightedAccuracy: compared ? ratio(p.comparisonAbsCorrect, p.absTotal) : null,
    comparisonFollowing: compared ? p.comparisonFollowing : null,
  };
}

export function agreementSummary(tally: Tally): AgreementSummary | null {
  const c = tally.comparison;
  if (!c) return null;
  return {
    rows: tally.rows,
    agreements: c.agreements,
    rate: ratio(c.agreements, tally.rows),
    disagreementSample: [...c.disagreementSample].sort((a, b) => a - b),
  };
}

/** The published figures of a whole dataset's tally. */
export function summarize(tally: Tally, modelLabels: readonly string[]): EvaluationMetrics {
  const confusion = confusionMatrix(tally, modelLabels);
  return {
    rows: tally.rows,
    correct: tally.correct,
    accuracy: ratio(tally.correct, tally.rows),
    classes: classMetrics(confusion),
    confusion,
    comparisonAccuracy: tally.comparison ? ratio(tally.comparison.correct, tally.rows) : null,
    monthly: monthlyAccuracy(tally),
    pnl: pnlSummary(tally),
    agreement: agreementSummary(tally),
  };
}
