import { describe, expect, it } from 'vitest';
import { routeRows, shadowsStaging, type StageTraffic } from '../../src/inference/batchRouting';
import type { StagePointer } from '../../src/registry/versionMetadata';

/** Only what routing reads of a pointer: its version. */
const pointer = (version: string) => ({ version }) as StagePointer;
const traffic = (production: string, staging: string | null, shadow: boolean, canary: number): StageTraffic => ({
  production: pointer(production),
  staging: staging === null ? null : pointer(staging),
  traffic: { shadow, canary_percent: canary },
});

describe('routeRows: which stage serves each row (pure, no S3)', () => {
  const U = 'stocks/universal';
  const S = 'etfs/SPY';

  it.each([
    // [case, traffic of U, expected groups]
    [
      'no traffic settings: production serves every row',
      undefined,
      [{ stage: 'PRODUCTION', canary: false, indexes: [0, 1, 2] }],
    ],
    [
      'canary 0 %: production serves every row',
      traffic('v1', 'v2', false, 0),
      [{ stage: 'PRODUCTION', canary: false, indexes: [0, 1, 2] }],
    ],
    [
      'canary 100 %: staging serves every row',
      traffic('v1', 'v2', false, 100),
      [{ stage: 'STAGING', canary: true, indexes: [0, 1, 2] }],
    ],
    [
      "canary 100 % but staging serves production's version: nothing to try",
      traffic('v1', 'v1', false, 100),
      [{ stage: 'PRODUCTION', canary: false, indexes: [0, 1, 2] }],
    ],
    [
      'canary 100 % without a staging pointer: production',
      traffic('v1', null, false, 100),
      [{ stage: 'PRODUCTION', canary: false, indexes: [0, 1, 2] }],
    ],
    // MSFT's bucket for stocks/universal is 340 (computed in Python, test/unit/voting.test.ts): in at 3.41 %, out at 3.4 %.
    [
      'canary 3.41 %: MSFT (bucket 340) goes to staging, in request order',
      traffic('v1', 'v2', false, 3.41),
      [
        { stage: 'PRODUCTION', canary: false, indexes: [0, 2] },
        { stage: 'STAGING', canary: true, indexes: [1] },
      ],
    ],
    [
      'canary 3.4 %: MSFT stays on production',
      traffic('v1', 'v2', false, 3.4),
      [{ stage: 'PRODUCTION', canary: false, indexes: [0, 1, 2] }],
    ],
  ])('%s', (_case, t, expected) => {
    // Prepare
    const tr = new Map<string, StageTraffic | Error>(t ? [[U, t]] : []);
    // Act
    const { groups, errors } = routeRows({
      targets: [U, U, U],
      tickers: ['AAPL', 'MSFT', 'NVDA'],
      traffic: tr,
      stage: 'PRODUCTION',
    });
    // Assess
    expect(errors.size).toBe(0);
    expect(groups).toEqual(expected.map((g) => ({ model: U, ...g })));
  });

  it('groups per model in first-seen order; failed targets and unreadable traffic fail only their rows', () => {
    const unknown = new Error('UNKNOWN_ASSET');
    const unreadable = new Error('STORAGE_UNAVAILABLE');
    const { groups, errors } = routeRows({
      targets: [S, unknown, U, S, 'universal/broken'],
      tickers: ['SPY', undefined, 'AAPL', 'SPY', 'QQQ'],
      traffic: new Map<string, StageTraffic | Error>([
        [U, traffic('v1', 'v2', true, 0)],
        ['universal/broken', unreadable],
      ]),
      stage: 'PRODUCTION',
    });
    expect(groups).toEqual([
      { model: S, stage: 'PRODUCTION', canary: false, indexes: [0, 3] },
      { model: U, stage: 'PRODUCTION', canary: false, indexes: [2] },
    ]);
    expect([...errors]).toEqual([
      [1, unknown],
      [4, unreadable],
    ]);
  });

  it('the stage asked serves every row when traffic does not apply (staging, or an alias)', () => {
    const { groups } = routeRows({ targets: [U, U], tickers: ['AAPL', 'MSFT'], traffic: new Map(), stage: 'STAGING' });
    expect(groups).toEqual([{ model: U, stage: 'STAGING', canary: false, indexes: [0, 1] }]);
  });
});

describe('shadowsStaging: whether production rows also run staging', () => {
  it.each([
    ['shadow on, staging another version', traffic('v1', 'v2', true, 0), 'v1', true],
    ['shadow on, staging the serving version', traffic('v1', 'v1', true, 0), 'v1', false],
    ['shadow on, no staging pointer', traffic('v1', null, true, 0), 'v1', false],
    ['shadow off', traffic('v1', 'v2', false, 50), 'v1', false],
    ['no traffic read', undefined, 'v1', false],
  ])('%s', (_case, t, serving, expected) => {
    expect(shadowsStaging(t, serving)).toBe(expected);
  });
});
