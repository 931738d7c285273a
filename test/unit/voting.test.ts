import { describe, expect, it } from 'vitest';
import { canaryBucket, inCanary } from '../../src/inference/canary';
import { vote } from '../../src/inference/voting';

describe('ensemble voting, against hand-computed values', () => {
  // Three members over labels [A, B, C].
  const members = [
    { weight: 0.5, probabilities: [0.6, 0.3, 0.1] },
    { weight: 0.3, probabilities: [0.2, 0.7, 0.1] },
    { weight: 0.2, probabilities: [0.1, 0.2, 0.7] },
  ];

  it('soft: the weighted mean of the probabilities', () => {
    // A: 0.5·0.6 + 0.3·0.2 + 0.2·0.1 = 0.38; B: 0.15 + 0.21 + 0.04 = 0.40; C: 0.05 + 0.03 + 0.14 = 0.22
    const v = vote('soft', members, 3);
    expect(Array.from(v.probabilities)).toEqual([
      expect.closeTo(0.38, 12),
      expect.closeTo(0.4, 12),
      expect.closeTo(0.22, 12),
    ]);
    expect(v.best).toBe(1);
  });

  it('soft: weights need not sum to 1', () => {
    const scaled = members.map((m) => ({ ...m, weight: m.weight * 7 }));
    expect(Array.from(vote('soft', scaled, 3).probabilities)).toEqual([
      expect.closeTo(0.38, 12),
      expect.closeTo(0.4, 12),
      expect.closeTo(0.22, 12),
    ]);
  });

  it('hard: each member votes its own top label with its weight', () => {
    // Votes: A (0.5), B (0.3), C (0.2) → A wins with 0.5 of the weight, though B is the soft winner.
    const v = vote('hard', members, 3);
    expect(Array.from(v.probabilities)).toEqual([
      expect.closeTo(0.5, 12),
      expect.closeTo(0.3, 12),
      expect.closeTo(0.2, 12),
    ]);
    expect(v.best).toBe(0);
  });

  it('hard: a weighted majority beats a head count', () => {
    const v = vote(
      'hard',
      [
        { weight: 1, probabilities: [0.9, 0.1] },
        { weight: 1, probabilities: [0.8, 0.2] },
        { weight: 3, probabilities: [0.4, 0.6] },
      ],
      2,
    );
    expect(Array.from(v.probabilities)).toEqual([expect.closeTo(0.4, 12), expect.closeTo(0.6, 12)]);
    expect(v.best).toBe(1);
  });

  it('ties go to the earlier label, whatever the member order', () => {
    const a = { weight: 1, probabilities: [0.1, 0.9] };
    const b = { weight: 1, probabilities: [0.9, 0.1] };
    expect(vote('hard', [a, b], 2).best).toBe(0);
    expect(vote('hard', [b, a], 2).best).toBe(0);
    expect(vote('soft', [a, b], 2).best).toBe(0);
  });
});

describe('canary routing', () => {
  it('buckets a ticker by fnv1a32 of "{model}:{ticker}" (values computed independently in Python)', () => {
    expect(canaryBucket('stocks/universal', 'AAPL')).toBe(3535929984 % 10_000);
    expect(canaryBucket('etfs/SPY', 'SPY')).toBe(6858);
    expect(canaryBucket('stocks/universal', 'MSFT')).toBe(340);
    expect(inCanary('stocks/universal', 'MSFT', 3.41)).toBe(true);
    expect(inCanary('stocks/universal', 'MSFT', 3.4)).toBe(false);
  });

  it('is monotone in the percentage and covers about that share of tickers', () => {
    const tickers = Array.from({ length: 5_000 }, (_, i) => `T${i}`);
    let previous = new Set<string>();
    for (const percent of [0, 5, 20, 50, 80, 100]) {
      const chosen = new Set(tickers.filter((t) => inCanary('stocks/universal', t, percent)));
      for (const t of previous) expect(chosen.has(t)).toBe(true);
      expect(chosen.size / tickers.length).toBeCloseTo(percent / 100, 1);
      previous = chosen;
    }
  });

  it('chooses different tickers for different models', () => {
    const tickers = Array.from({ length: 1_000 }, (_, i) => `T${i}`);
    const a = tickers.filter((t) => inCanary('etfs/SPY', t, 50));
    const b = tickers.filter((t) => inCanary('stocks/universal', t, 50));
    expect(a).not.toEqual(b);
  });
});
