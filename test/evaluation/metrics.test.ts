import { describe, expect, it } from 'vitest';
import {
  DISAGREEMENT_SAMPLE_SIZE,
  classMetrics,
  confusionMatrix,
  mergeTallies,
  monthOf,
  sampleRank,
  summarize,
  tallyRows,
  type ScoredRows,
} from '../../src/evaluation/metrics';

const A = 'IRON_CONDOR';
const B = 'BULL_CALL_SPREAD';
const C = 'NO_TRADE';

describe('classMetrics', () => {
  // Expected values worked out by hand from the matrices.
  const cases: Array<{
    name: string;
    labels: string[];
    matrix: number[][];
    expected: Array<[number | null, number | null, number | null, number]>;
  }> = [
    {
      name: 'perfect',
      labels: [A, B],
      matrix: [
        [3, 0],
        [0, 2],
      ],
      expected: [
        [1, 1, 1, 3],
        [1, 1, 1, 2],
      ],
    },
    {
      name: 'mixed: A predicted 4× (3 right), B has 3 rows (1 found)',
      labels: [A, B],
      matrix: [
        [3, 0],
        [1, 1],
      ],
      // A: precision 3/4, recall 3/3, f1 = 2·0.75·1/1.75 = 6/7; B: precision 1/1, recall 1/2, f1 = 2/3
      expected: [
        [0.75, 1, 6 / 7, 3],
        [1, 0.5, 2 / 3, 2],
      ],
    },
    {
      name: 'a class never predicted has undefined precision; a class never present undefined recall',
      labels: [A, B, C],
      matrix: [
        [2, 1, 0],
        [0, 0, 0],
        [1, 0, 0],
      ],
      // A: p 2/3 r 2/3 f1 2/3; B: predicted once (wrong) p 0, no rows → r null, f1 null; C: never predicted → p null, r 0
      expected: [
        [2 / 3, 2 / 3, 2 / 3, 3],
        [0, null, null, 0],
        [null, 0, null, 1],
      ],
    },
    {
      name: 'predicted but never right, present but never found: f1 0',
      labels: [A, B],
      matrix: [
        [0, 2],
        [2, 0],
      ],
      expected: [
        [0, 0, 0, 2],
        [0, 0, 0, 2],
      ],
    },
  ];
  it.each(cases)('$name', ({ labels, matrix, expected }) => {
    // Act
    const got = classMetrics({ labels, matrix });
    // Assess
    expect(got.map((c) => c.label)).toEqual(labels);
    got.forEach((c, k) => {
      const [p, r, f1, support] = expected[k];
      for (const [value, want] of [
        [c.precision, p],
        [c.recall, r],
        [c.f1, f1],
      ] as const) {
        if (want === null) expect(value).toBeNull();
        else expect(value).toBeCloseTo(want, 12);
      }
      expect(c.support).toBe(support);
    });
  });
});

describe('tallyRows and summarize', () => {
  const rows: ScoredRows = {
    rowStart: 10,
    labels: [A, A, B, C, A, B],
    predicted: [A, B, B, A, A, B],
    comparisonPredicted: [A, A, A, C, B, B],
    // 2024-01-15, 2024-01-31T23:59:59Z, 2024-02-01, 2024-02-10, 2024-03-05, 2024-03-06
    timestamps: [
      Date.UTC(2024, 0, 15),
      Date.UTC(2024, 0, 31, 23, 59, 59),
      Date.UTC(2024, 1, 1),
      Date.UTC(2024, 1, 10),
      Date.UTC(2024, 2, 5),
      Date.UTC(2024, 2, 6),
    ],
    pnl: [10, -4, 6, 2, -8, 3],
  };

  it('counts what a person counts by hand', () => {
    // Act
    const m = summarize(tallyRows(rows), [A, B, C]);
    // Assess
    // candidate right on rows 0, 2, 4, 5 → 4/6; comparison right on 0, 1, 3, 5 → 4/6
    expect(m.rows).toBe(6);
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.comparisonAccuracy).toBeCloseTo(4 / 6, 12);
    expect(m.confusion).toEqual({
      labels: [A, B, C],
      matrix: [
        [2, 1, 0],
        [0, 2, 0],
        [1, 0, 0],
      ],
    });
    // monthly: Jan rows 0,1 (cand 1 right, cmp 2), Feb rows 2,3 (cand 1, cmp 1), Mar rows 4,5 (cand 2, cmp 1)
    expect(m.monthly).toEqual([
      { month: '2024-01', rows: 2, accuracy: 0.5, comparisonAccuracy: 1 },
      { month: '2024-02', rows: 2, accuracy: 0.5, comparisonAccuracy: 0.5 },
      { month: '2024-03', rows: 2, accuracy: 1, comparisonAccuracy: 0.5 },
    ]);
    // |pnl| = 10 4 6 2 8 3 (33). Candidate right on 0,2,4,5: |.| 10+6+8+3 = 27; following 10 −4 +6 −2 −8 +3 = 5
    // Comparison right on 0,1,3,5: 10+4+2+3 = 19; following 10 −4 −6 +2 −8 +3 = −3
    expect(m.pnl!.total).toBeCloseTo(9, 12);
    expect(m.pnl!.weightedAccuracy).toBeCloseTo(27 / 33, 12);
    expect(m.pnl!.following).toBeCloseTo(5, 12);
    expect(m.pnl!.comparisonWeightedAccuracy).toBeCloseTo(19 / 33, 12);
    expect(m.pnl!.comparisonFollowing).toBeCloseTo(-3, 12);
    // agreement: rows 0, 5 agree (A/A, B/B); 1 (B/A), 2 (B/A), 3 (A/C), 4 (A/B) disagree → indices 11, 12, 13, 14
    expect(m.agreement).toEqual({ rows: 6, agreements: 2, rate: 2 / 6, disagreementSample: [11, 12, 13, 14] });
  });

  it('merging chunk tallies gives the tally of all rows, however the rows are cut', () => {
    // Prepare
    const whole = tallyRows(rows);
    const cut = (from: number, to: number): ScoredRows => ({
      rowStart: rows.rowStart + from,
      labels: rows.labels.slice(from, to),
      predicted: rows.predicted.slice(from, to),
      comparisonPredicted: rows.comparisonPredicted!.slice(from, to),
      timestamps: Array.from(rows.timestamps!).slice(from, to),
      pnl: Array.from(rows.pnl!).slice(from, to),
    });
    // Act
    const merged = [cut(0, 1), cut(1, 4), cut(4, 6)].map(tallyRows).reduce(mergeTallies);
    // Assess
    expect(summarize(merged, [A, B, C])).toEqual(summarize(whole, [A, B, C]));
  });

  it('without comparison, timestamps or pnl leaves those figures null', () => {
    // Act
    const m = summarize(tallyRows({ rowStart: 0, labels: [A, B], predicted: [A, A] }), [A, B]);
    // Assess
    expect(m.accuracy).toBe(0.5);
    expect(m.comparisonAccuracy).toBeNull();
    expect(m.monthly).toBeNull();
    expect(m.pnl).toBeNull();
    expect(m.agreement).toBeNull();
  });

  it('puts labels only the dataset has after the model labels, sorted', () => {
    // Act
    const matrix = confusionMatrix(tallyRows({ rowStart: 0, labels: ['ZETA', 'ALPHA', A], predicted: [A, A, A] }), [
      A,
      B,
    ]);
    // Assess
    expect(matrix.labels).toEqual([A, B, 'ALPHA', 'ZETA']);
    expect(matrix.matrix[0]).toEqual([1, 0, 0, 0]);
    expect(matrix.matrix[2]).toEqual([1, 0, 0, 0]);
    expect(matrix.matrix[3]).toEqual([1, 0, 0, 0]);
  });
});

describe('disagreement sample', () => {
  it('keeps the rows of smallest rank, the same however the rows are chunked', () => {
    // Prepare: 1,000 rows that all disagree
    const n = 1000;
    const all = (from: number, to: number): ScoredRows => ({
      rowStart: from,
      labels: Array.from({ length: to - from }, () => A),
      predicted: Array.from({ length: to - from }, () => A),
      comparisonPredicted: Array.from({ length: to - from }, () => B),
    });
    const expected = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => sampleRank(a) - sampleRank(b) || a - b)
      .slice(0, DISAGREEMENT_SAMPLE_SIZE)
      .sort((a, b) => a - b);
    // Act
    const whole = summarize(tallyRows(all(0, n)), [A, B]).agreement!;
    const chunked = summarize([all(0, 137), all(137, 600), all(600, n)].map(tallyRows).reduce(mergeTallies), [
      A,
      B,
    ]).agreement!;
    // Assess
    expect(whole.disagreementSample).toEqual(expected);
    expect(chunked.disagreementSample).toEqual(expected);
    // Spread over the dataset, not the first rows.
    expect(Math.max(...expected)).toBeGreaterThan(n / 2);
  });
});

describe('rows without a timestamp', () => {
  it('count in accuracy but in no month', () => {
    // Act
    const m = summarize(
      tallyRows({ rowStart: 0, labels: [A, A, B], predicted: [A, B, B], timestamps: [Date.UTC(2024, 4, 1), NaN, NaN] }),
      [A, B],
    );
    // Assess
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
    expect(m.monthly).toEqual([{ month: '2024-05', rows: 1, accuracy: 1, comparisonAccuracy: null }]);
  });
});

describe('monthOf', () => {
  it.each([
    [Date.UTC(2024, 0, 31, 23, 59, 59, 999), '2024-01'],
    [Date.UTC(2024, 1, 1), '2024-02'],
    [Date.UTC(1999, 11, 31), '1999-12'],
  ])('%s → %s (UTC)', (ms, month) => {
    expect(monthOf(ms)).toBe(month);
  });
});
