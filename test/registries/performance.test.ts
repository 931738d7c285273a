import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERFORMANCE_TRACKING_KEY } from '../../src/registry/bucketLayout';
import {
  applyOutcomes,
  MAX_REMEMBERED_BATCHES,
  recordOutcomes,
  validateOutcomeBatch,
  type PerformanceDocument,
} from '../../src/registry/performanceTracking';
import { startTestStack, type TestStack } from '../support/stack';

const RECORD = `mutation($b: ID!, $o: [OutcomeInput!]!) {
  recordOutcomes(batchId: $b, outcomes: $o) {
    batchId duplicate recorded correct
    series { ticker model { id type } version total { predictions correct accuracy } daily { date predictions correct accuracy } }
  }
}`;

const PERFORMANCE = `query($t: String!, $m: ID, $v: String, $from: DateTime, $to: DateTime) {
  performance(ticker: $t, model: $m, version: $v, from: $from, to: $to) {
    ticker model { id type } version
    total { predictions correct accuracy }
    period { predictions correct accuracy }
    daily { date predictions correct accuracy }
  }
}`;

type Outcome = { ticker: string; model?: string; version: string; predicted: string; realized: string; at?: string };

const day = (date: string, predictions: number, correct: number) => ({
  date,
  predictions,
  correct,
  accuracy: predictions ? correct / predictions : null,
});
const counts = (predictions: number, correct: number) => ({
  predictions,
  correct,
  accuracy: predictions ? correct / predictions : null,
});

describe('performance tracking (metadata/performance_tracking.json)', () => {
  let stack: TestStack;
  const stored = async () => stack.server.runtime.store.get(PERFORMANCE_TRACKING_KEY);
  const storedJson = async () => JSON.parse((await stored()).body.toString());
  const record = (batchId: string, outcomes: Outcome[]) => stack.gqlAsWriter(RECORD, { b: batchId, o: outcomes });
  const performance = (vars: Record<string, unknown>) => stack.gql(PERFORMANCE, vars);

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.close());

  it('records a batch into an empty `{}` document and reads back hand-computed totals and UTC daily buckets', async () => {
    // Prepare: the demo seed wrote `{}`.
    expect(await storedJson()).toEqual({});
    const outcomes: Outcome[] = [
      {
        ticker: 'SPY',
        version: 'v1.1.0',
        predicted: 'IRON_CONDOR',
        realized: 'IRON_CONDOR',
        at: '2026-11-24T15:00:00Z',
      },
      { ticker: 'spy', version: 'v1.1.0', predicted: 'IRON_CONDOR', realized: 'NO_TRADE', at: '2026-11-24T20:59:00Z' },
      {
        ticker: 'SPY',
        version: 'v1.1.0',
        predicted: 'BULL_CALL_SPREAD',
        realized: 'BULL_CALL_SPREAD',
        at: '2026-11-25T00:00:00Z',
      },
      // Out of order, and the last millisecond of the 23rd (UTC).
      { ticker: 'SPY', version: 'v1.1.0', predicted: 'NO_TRADE', realized: 'NO_TRADE', at: '2026-11-23T23:59:59.999Z' },
      // 20:00 in New York on the 25th is 01:00 UTC on the 26th.
      {
        ticker: 'SPY',
        model: 'etfs/SPY',
        version: 'v1.1.0',
        predicted: 'COVERED_CALL',
        realized: 'LONG_STRADDLE',
        at: '2026-11-25T20:00:00-05:00',
      },
      {
        ticker: 'SPY',
        version: 'v1.0.0',
        predicted: 'BUTTERFLY_SPREAD',
        realized: 'BUTTERFLY_SPREAD',
        at: '2026-11-24T10:00:00Z',
      },
    ];

    // Act
    const answer = await record('batch-1', outcomes);

    // Assess: the answer …
    expect(answer.errors).toBeUndefined();
    const v110Days = [
      day('2026-11-23', 1, 1),
      day('2026-11-24', 2, 1),
      day('2026-11-25', 1, 1),
      day('2026-11-26', 1, 0),
    ];
    const spyModel = { id: 'etfs/SPY', type: 'ETF_SPECIFIC' };
    expect(answer.data!.recordOutcomes).toEqual({
      batchId: 'batch-1',
      duplicate: false,
      recorded: 6,
      correct: 4,
      series: [
        { ticker: 'SPY', model: spyModel, version: 'v1.0.0', total: counts(1, 1), daily: [day('2026-11-24', 1, 1)] },
        { ticker: 'SPY', model: spyModel, version: 'v1.1.0', total: counts(5, 3), daily: v110Days },
      ],
    });
    // … the stored document, in the documented shape …
    const doc = await storedJson();
    expect(doc.assets).toEqual({
      SPY: {
        'etfs/SPY': {
          'v1.0.0': { total: { predictions: 1, correct: 1 }, daily: { '2026-11-24': { predictions: 1, correct: 1 } } },
          'v1.1.0': {
            total: { predictions: 5, correct: 3 },
            daily: {
              '2026-11-23': { predictions: 1, correct: 1 },
              '2026-11-24': { predictions: 2, correct: 1 },
              '2026-11-25': { predictions: 1, correct: 1 },
              '2026-11-26': { predictions: 1, correct: 0 },
            },
          },
        },
      },
    });
    expect(doc.batches).toEqual(['batch-1']);
    expect(new Date(doc.last_updated).toISOString()).toBe(doc.last_updated);

    // … and the query: all series, then one version within a window of UTC dates.
    const all = await performance({ t: 'spy' });
    expect(all.errors).toBeUndefined();
    expect(
      all.data!.performance.map((s: { version: string; total: unknown; period: unknown }) => [
        s.version,
        s.total,
        s.period,
      ]),
    ).toEqual([
      ['v1.0.0', counts(1, 1), counts(1, 1)],
      ['v1.1.0', counts(5, 3), counts(5, 3)],
    ]);
    expect(all.data!.performance[1].daily).toEqual(v110Days);
    expect(all.data!.performance[1].total.accuracy).toBe(0.6);

    const window = await performance({
      t: 'SPY',
      v: 'v1.1.0',
      from: '2026-11-24T23:00:00Z',
      to: '2026-11-25T01:00:00Z',
    });
    expect(window.errors).toBeUndefined();
    expect(window.data!.performance).toEqual([
      {
        ticker: 'SPY',
        model: spyModel,
        version: 'v1.1.0',
        total: counts(5, 3),
        period: counts(3, 2),
        daily: [day('2026-11-24', 2, 1), day('2026-11-25', 1, 1)],
      },
    ]);
    const otherModel = await performance({ t: 'SPY', m: 'universal/all_assets_classifier' });
    expect(otherModel.data!.performance).toEqual([]);
  });

  it('defaults the model to the one serving the ticker, `at` to now, and sums a version over assets', async () => {
    // Prepare
    const before = new Date().toISOString().slice(0, 10);

    // Act: AAPL and MSFT are served by stocks/universal; SPY scored explicitly with the universal model.
    const answer = await record('batch-2', [
      { ticker: 'AAPL', version: 'v1.1.0', predicted: 'IRON_CONDOR', realized: 'IRON_CONDOR' },
      { ticker: 'AAPL', version: 'v1.1.0', predicted: 'IRON_CONDOR', realized: 'NO_TRADE' },
      { ticker: 'AAPL', version: 'v1.1.0', predicted: 'NO_TRADE', realized: 'NO_TRADE' },
      {
        ticker: 'MSFT',
        version: 'v1.1.0',
        predicted: 'COVERED_CALL',
        realized: 'COVERED_CALL',
        at: new Date(Date.now() + 4 * 60_000).toISOString(),
      },
      {
        ticker: 'SPY',
        model: 'universal/all_assets_classifier',
        version: 'v1.0.0',
        predicted: 'NO_TRADE',
        realized: 'IRON_CONDOR',
      },
    ]);
    const after = new Date().toISOString().slice(0, 10);

    // Assess
    expect(answer.errors).toBeUndefined();
    const series = answer.data!.recordOutcomes.series;
    expect(
      series.map((s: { ticker: string; model: { id: string; type: string } }) => [s.ticker, s.model.id, s.model.type]),
    ).toEqual([
      ['AAPL', 'stocks/universal', 'STOCK_UNIVERSAL'],
      ['MSFT', 'stocks/universal', 'STOCK_UNIVERSAL'],
      ['SPY', 'universal/all_assets_classifier', 'UNIVERSAL'],
    ]);
    expect(series[0].total).toEqual(counts(3, 2));
    expect(series[0].daily).toHaveLength(1);
    expect([before, after]).toContain(series[0].daily[0].date);
    const doc = await storedJson();
    expect(Object.keys(doc.assets.AAPL)).toEqual(['stocks/universal']);
    expect(doc.assets.SPY['etfs/SPY']['v1.1.0'].total).toEqual({ predictions: 5, correct: 3 }); // untouched by this batch
    expect(doc.batches).toEqual(['batch-1', 'batch-2']);

    const versions = await stack.gql(`{
      universal: model(id: "stocks/universal") { v11: version(version: "v1.1.0") { realizedAccuracy realizedPredictions } v10: version(version: "v1.0.0") { realizedAccuracy realizedPredictions } }
      spy: model(id: "etfs/SPY") { production { version realizedAccuracy realizedPredictions } }
    }`);
    expect(versions.errors).toBeUndefined();
    expect(versions.data!.universal).toEqual({
      v11: { realizedAccuracy: 0.75, realizedPredictions: 4 },
      v10: { realizedAccuracy: null, realizedPredictions: 0 },
    });
    expect(versions.data!.spy.production).toEqual({ version: 'v1.1.0', realizedAccuracy: 0.6, realizedPredictions: 5 });
  });

  it('a batch id sent again is not counted twice, also when the first answer was lost after the write', async () => {
    // Prepare
    const outcomes: Outcome[] = [
      {
        ticker: 'QQQ',
        version: 'v1.0.0',
        predicted: 'IRON_CONDOR',
        realized: 'IRON_CONDOR',
        at: '2026-11-20T12:00:00Z',
      },
      { ticker: 'QQQ', version: 'v1.0.0', predicted: 'IRON_CONDOR', realized: 'NO_TRADE', at: '2026-11-20T13:00:00Z' },
    ];
    const first = await record('qqq-1', outcomes);
    expect(first.data!.recordOutcomes).toMatchObject({ duplicate: false, recorded: 2, correct: 1 });
    const written = await stored();

    // Act: the same batch again.
    const again = await record('qqq-1', outcomes);

    // Assess: nothing written, the answer says so and shows the stored counts.
    expect(again.errors).toBeUndefined();
    expect(again.data!.recordOutcomes).toMatchObject({ batchId: 'qqq-1', duplicate: true, recorded: 0, correct: 0 });
    expect(again.data!.recordOutcomes.series[0].total).toEqual(counts(2, 1));
    const unchanged = await stored();
    expect(unchanged.etag).toBe(written.etag);
    expect(unchanged.body.equals(written.body)).toBe(true);

    // Act: the write of a new batch succeeds but its answer never arrives (connection destroyed).
    const s3 = stack.server.s3!;
    s3.injectFault({
      match: (r) => r.method === 'PUT' && r.key === PERFORMANCE_TRACKING_KEY,
      kind: 'truncate',
      times: 1,
    });
    const lost = await record('qqq-2', outcomes);
    s3.clearFaults();
    expect(s3.requests().filter((r) => r.fault === 'truncate' && r.key === PERFORMANCE_TRACKING_KEY)).toHaveLength(1);
    const retried = await record('qqq-2', outcomes);

    // Assess: whatever the first call answered (a typed error, or a duplicate found on the SDK's own retry), qqq-2 counted once.
    // (The SDK resends the PUT; If-Match then fails, the re-read finds qqq-2 recorded: duplicate.)
    if (lost.errors) expect(lost.errors[0].extensions?.code).toMatch(/^[A-Z_]+$/);
    else expect(lost.data!.recordOutcomes).toMatchObject({ duplicate: true, recorded: 0 });
    expect(retried.data!.recordOutcomes).toMatchObject({ duplicate: true, recorded: 0 });
    expect((await storedJson()).assets.QQQ['etfs/QQQ']['v1.0.0']).toEqual({
      total: { predictions: 4, correct: 2 },
      daily: { '2026-11-20': { predictions: 4, correct: 2 } },
    });
  });

  it('every kind of bad input is a typed error naming the outcome, and the stored document stays byte-identical', async () => {
    // Prepare
    const good: Outcome = {
      ticker: 'SPY',
      version: 'v1.1.0',
      predicted: 'IRON_CONDOR',
      realized: 'IRON_CONDOR',
      at: '2026-11-21T12:00:00Z',
    };
    const withBad = (bad: Partial<Outcome>) => [good, { ...good, ...bad }];
    const cases: Array<{
      name: string;
      batchId?: string;
      outcomes: Outcome[];
      code: string;
      argument?: string;
      message?: RegExp;
    }> = [
      {
        name: 'ticker syntax',
        outcomes: withBad({ ticker: '../SPY' }),
        code: 'BAD_USER_INPUT',
        argument: 'outcomes[1].ticker',
      },
      {
        name: 'unknown ticker',
        outcomes: withBad({ ticker: 'ZZZZ' }),
        code: 'UNKNOWN_ASSET',
        argument: 'outcomes[1].ticker',
      },
      {
        name: 'model id syntax',
        outcomes: withBad({ model: 'etfs/../SPY' }),
        code: 'BAD_USER_INPUT',
        argument: 'outcomes[1].model',
      },
      {
        name: 'model without that version',
        outcomes: withBad({ model: 'universal/nope' }),
        code: 'VERSION_NOT_FOUND',
        argument: 'outcomes[1].version',
      },
      {
        name: 'version syntax',
        outcomes: withBad({ version: '../v1.1.0' }),
        code: 'BAD_USER_INPUT',
        argument: 'outcomes[1].version',
      },
      {
        name: 'unknown version',
        outcomes: withBad({ version: 'v9.9.9' }),
        code: 'VERSION_NOT_FOUND',
        argument: 'outcomes[1].version',
      },
      {
        name: 'predicted not a label',
        outcomes: withBad({ predicted: 'MOON_SHOT' }),
        code: 'BAD_USER_INPUT',
        argument: 'outcomes[1].predicted',
        message: /not a label of etfs\/SPY@v1\.1\.0/,
      },
      {
        name: 'realized not a label',
        outcomes: withBad({ realized: 'iron_condor' }),
        code: 'BAD_USER_INPUT',
        argument: 'outcomes[1].realized',
      },
      {
        name: 'at in the future',
        outcomes: withBad({ at: new Date(Date.now() + 10 * 60_000).toISOString() }),
        code: 'BAD_USER_INPUT',
        argument: 'outcomes[1].at',
      },
      {
        name: 'at before 2000',
        outcomes: withBad({ at: '1999-12-31T23:59:59Z' }),
        code: 'BAD_USER_INPUT',
        argument: 'outcomes[1].at',
      },
      { name: 'at not a date-time', outcomes: withBad({ at: 'yesterday' }), code: 'BAD_USER_INPUT' },
      { name: 'batch id syntax', batchId: 'has space', outcomes: [good], code: 'BAD_USER_INPUT', argument: 'batchId' },
      {
        name: 'batch id too long',
        batchId: 'x'.repeat(129),
        outcomes: [good],
        code: 'BAD_USER_INPUT',
        argument: 'batchId',
      },
      { name: 'empty batch', outcomes: [], code: 'BAD_USER_INPUT', argument: 'outcomes' },
      {
        name: '10,001 outcomes',
        outcomes: Array.from({ length: 10_001 }, () => good),
        code: 'BAD_USER_INPUT',
        argument: 'outcomes',
      },
    ];
    const before = await stored();
    const s3 = stack.server.s3!;
    s3.resetRequests();

    for (const c of cases) {
      // Act
      const answer = await record(c.batchId ?? `bad-${c.name.replace(/\W+/g, '-')}`, c.outcomes);

      // Assess
      expect(answer.data ?? null, c.name).toBeNull();
      const error = answer.errors?.[0];
      expect(error?.extensions?.code, c.name).toBe(c.code);
      expect(error?.extensions?.stacktrace, c.name).toBeUndefined();
      if (c.argument) expect(error?.extensions?.argument, c.name).toBe(c.argument);
      if (c.argument?.startsWith('outcomes[1]')) expect(error?.message, c.name).toContain('outcomes[1]');
      if (c.message) expect(error?.message, c.name).toMatch(c.message);
    }

    // Nothing was written, and the document is byte-for-byte what it was.
    expect(s3.count({ method: 'PUT', key: PERFORMANCE_TRACKING_KEY })).toBe(0);
    const after = await stored();
    expect(after.etag).toBe(before.etag);
    expect(after.body.equals(before.body)).toBe(true);
    // None of those batch ids was remembered: a corrected batch under the same id is counted.
    const fixed = await record('bad-unknown-ticker', [good]);
    expect(fixed.data!.recordOutcomes).toMatchObject({ duplicate: false, recorded: 1 });
  });

  it('needs write permission: UNAUTHENTICATED without or with a wrong token, nothing written', async () => {
    // Prepare
    const before = await stored();
    const outcomes: Outcome[] = [{ ticker: 'SPY', version: 'v1.1.0', predicted: 'NO_TRADE', realized: 'NO_TRADE' }];

    // Act
    const anonymous = await stack.gql(RECORD, { b: 'anon-1', o: outcomes });
    const wrongToken = await stack.gql(RECORD, { b: 'anon-2', o: outcomes }, { token: 'not-the-token' });

    // Assess
    expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(wrongToken.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const after = await stored();
    expect(after.etag).toBe(before.etag);
    expect(after.body.equals(before.body)).toBe(true);
  });

  it('10 concurrent batches (10,000 outcomes in one of them) lose nothing', async () => {
    // Prepare: batch k records 100 outcomes on IWM for day 2026-11-1{k}, the first k+1 of them correct …
    const batch = (k: number): Outcome[] =>
      Array.from({ length: 100 }, (_, i) => ({
        ticker: 'IWM',
        version: 'v1.0.0',
        predicted: 'IRON_CONDOR',
        realized: i <= k ? 'IRON_CONDOR' : 'NO_TRADE',
        at: `2026-11-1${k}T${String(10 + (i % 10)).padStart(2, '0')}:00:00Z`,
      }));
    // … except batch 9, which holds the maximum of 10,000 outcomes, every second one correct.
    const big: Outcome[] = Array.from({ length: 10_000 }, (_, i) => ({
      ticker: 'IWM',
      version: 'v1.0.0',
      predicted: 'IRON_CONDOR',
      realized: i % 2 ? 'NO_TRADE' : 'IRON_CONDOR',
      at: '2026-11-19T12:00:00Z',
    }));
    const s3 = stack.server.s3!;
    s3.resetRequests();

    // Act
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, k) => record(`iwm-${k}`, k === 9 ? big : batch(k))),
    );

    // Assess: all succeeded, it was a real race, and every count is there.
    for (const a of answers) expect(a.errors).toBeUndefined();
    expect(s3.count({ method: 'PUT', key: PERFORMANCE_TRACKING_KEY, status: 412 })).toBeGreaterThan(0);
    const doc = await storedJson();
    const iwm = doc.assets.IWM['etfs/IWM']['v1.0.0'];
    const expectedDaily = Object.fromEntries(
      Array.from({ length: 9 }, (_, k) => [`2026-11-1${k}`, { predictions: 100, correct: k + 1 }]),
    );
    expectedDaily['2026-11-19'] = { predictions: 10_000, correct: 5_000 };
    expect(iwm.daily).toEqual(expectedDaily);
    expect(iwm.total).toEqual({ predictions: 10_900, correct: 5_045 });
    for (let k = 0; k < 10; k++) expect(doc.batches).toContain(`iwm-${k}`);
    // Earlier batches survived the race too.
    expect(doc.assets.SPY['etfs/SPY']['v1.1.0'].total).toEqual({ predictions: 6, correct: 4 });

    const read = await performance({ t: 'IWM', from: '2026-11-18T00:00:00Z' });
    expect(read.data!.performance[0]).toMatchObject({ total: counts(10_900, 5_045), period: counts(10_100, 5_009) });
  });

  it('gives up with CONFLICT after bounded attempts and changes nothing', async () => {
    // Prepare: every conditional write of the document fails as if someone else always won.
    const registry = stack.server.runtime.registry;
    const batch = await validateOutcomeBatch(registry, {
      batchId: 'never',
      outcomes: [{ ticker: 'SMH', version: 'v1.0.0', predicted: 'NO_TRADE', realized: 'NO_TRADE' }],
    });
    const s3 = stack.server.s3!;
    s3.injectFault({
      match: (r) => r.method === 'PUT' && r.key === PERFORMANCE_TRACKING_KEY,
      kind: 'status',
      status: 412,
      code: 'PreconditionFailed',
    });
    const before = await stored();
    s3.resetRequests();

    // Act
    const run = recordOutcomes(registry, batch, { maxAttempts: 3 });

    // Assess
    await expect(run).rejects.toMatchObject({ code: 'CONFLICT' });
    s3.clearFaults();
    expect(s3.count({ method: 'PUT', key: PERFORMANCE_TRACKING_KEY })).toBe(3);
    const after = await stored();
    expect(after.etag).toBe(before.etag);
    expect((await storedJson()).assets.SMH).toBeUndefined();
  });

  it("keeps other tools' fields through a write, and reads a change made elsewhere at once", async () => {
    // Prepare: another tool adds fields at every level (and an entry under a name that is no model id).
    const current = await stored();
    const doc = JSON.parse(current.body.toString());
    doc.schema_version = 2;
    doc.notes = { owner: 'risk-team' };
    doc.assets.XLF = {
      'etfs/XLF': {
        'v1.0.0': {
          total: { predictions: 10, correct: 7, brier: 0.18 },
          daily: { '2026-11-02': { predictions: 10, correct: 7, source: 'backfill' } },
          calibration: { ece: 0.04 },
        },
        'v0.9.0': { total: { predictions: 0, correct: 0 }, daily: {} },
      },
      legacy_model: { v1: { total: { predictions: 3, correct: 1 }, daily: {} } },
    };
    await stack.server.runtime.store.put(PERFORMANCE_TRACKING_KEY, JSON.stringify(doc), {
      ifMatch: current.etag,
      contentType: 'application/json',
    });

    // Act: read (the process's cached copy must be revalidated) and write.
    const read = await performance({ t: 'XLF' });
    const answer = await record('xlf-1', [
      { ticker: 'XLF', version: 'v1.0.0', predicted: 'NO_TRADE', realized: 'NO_TRADE', at: '2026-11-02T18:00:00Z' },
      { ticker: 'XLF', version: 'v1.0.0', predicted: 'NO_TRADE', realized: 'IRON_CONDOR', at: '2026-11-03T18:00:00Z' },
    ]);

    // Assess: the external change was read; unknown model names are skipped; zero predictions → null accuracy.
    expect(read.errors).toBeUndefined();
    expect(
      read.data!.performance.map((s: { model: { id: string }; version: string; total: unknown }) => [
        s.model.id,
        s.version,
        s.total,
      ]),
    ).toEqual([
      ['etfs/XLF', 'v0.9.0', counts(0, 0)],
      ['etfs/XLF', 'v1.0.0', counts(10, 7)],
    ]);
    // The write added to the stored counts and kept every unknown field.
    expect(answer.errors).toBeUndefined();
    const after = await storedJson();
    expect(after.schema_version).toBe(2);
    expect(after.notes).toEqual({ owner: 'risk-team' });
    expect(after.assets.XLF['etfs/XLF']['v1.0.0']).toEqual({
      total: { predictions: 12, correct: 8, brier: 0.18 },
      daily: {
        '2026-11-02': { predictions: 11, correct: 8, source: 'backfill' },
        '2026-11-03': { predictions: 1, correct: 0 },
      },
      calibration: { ece: 0.04 },
    });
    expect(after.assets.XLF.legacy_model).toEqual({ v1: { total: { predictions: 3, correct: 1 }, daily: {} } });
  });

  it('performance answers typed errors for bad arguments and [] for a known ticker without outcomes', async () => {
    const unknown = await performance({ t: 'ZZZZ' });
    expect(unknown.errors?.[0].extensions?.code).toBe('UNKNOWN_ASSET');
    const badTicker = await performance({ t: 'SPY/../x' });
    expect(badTicker.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'ticker' });
    const badModel = await performance({ t: 'SPY', m: 'nope' });
    expect(badModel.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'model id' });
    const backwards = await performance({ t: 'SPY', from: '2026-11-26T00:00:00Z', to: '2026-11-25T00:00:00Z' });
    expect(backwards.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'from' });
    const none = await performance({ t: 'TSLA' });
    expect(none.errors).toBeUndefined();
    expect(none.data!.performance).toEqual([]);
  });

  it('remembers only the last 1,000 batch ids, newest last, without modifying its input', () => {
    // Prepare
    const doc: PerformanceDocument = {
      assets: {},
      batches: Array.from({ length: MAX_REMEMBERED_BATCHES }, (_, i) => `b${i}`),
    };
    const outcome = {
      ticker: 'SPY',
      model: 'etfs/SPY',
      version: 'v1.1.0',
      predicted: 'NO_TRADE',
      realized: 'NO_TRADE',
      at: new Date('2026-11-27T00:00:00Z'),
    };

    // Act
    const next = applyOutcomes(doc, { batchId: 'new', outcomes: [outcome] }, new Date('2026-11-27T01:00:00Z'));

    // Assess
    expect(next.batches).toHaveLength(MAX_REMEMBERED_BATCHES);
    expect(next.batches[0]).toBe('b1');
    expect(next.batches.at(-1)).toBe('new');
    expect(next.assets.SPY['etfs/SPY']['v1.1.0'].total).toEqual({ predictions: 1, correct: 1 });
    expect(doc.batches[0]).toBe('b0');
    expect(doc.assets).toEqual({});
  });

  it('creates a missing document with If-None-Match: *', async () => {
    // Prepare
    await stack.server.runtime.store.delete(PERFORMANCE_TRACKING_KEY);
    const s3 = stack.server.s3!;
    s3.resetRequests();

    // Act
    const answer = await record('fresh-1', [
      { ticker: 'SMH', version: 'v1.0.0', predicted: 'NO_TRADE', realized: 'IRON_CONDOR', at: '2026-11-27T09:00:00Z' },
    ]);

    // Assess
    expect(answer.errors).toBeUndefined();
    const puts = s3.requests().filter((r) => r.method === 'PUT' && r.key === PERFORMANCE_TRACKING_KEY);
    expect(puts.map((r) => [r.ifNoneMatch, r.ifMatch, r.status])).toEqual([['*', undefined, 200]]);
    const doc = await storedJson();
    expect(doc.batches).toEqual(['fresh-1']);
    expect(doc.assets).toEqual({
      SMH: {
        'etfs/SMH': {
          'v1.0.0': { total: { predictions: 1, correct: 0 }, daily: { '2026-11-27': { predictions: 1, correct: 0 } } },
        },
      },
    });
  });
});
