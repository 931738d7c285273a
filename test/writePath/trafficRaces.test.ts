import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { inCanary } from '../../src/inference/canary';
import type { RowPrediction } from '../../src/inference/modelBundle';
import { DEMO_ENSEMBLE, DEMO_ENSEMBLE_MEMBERS, demoVersionFiles } from '../../src/local/demoSeed';
import { Deployments, type DeploymentResult } from '../../src/registry/deployments';
import { TRAFFIC_OFF, type DeploymentRecord, type Traffic } from '../../src/registry/versionMetadata';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { publishVersion } from '../../src/registry/versionPublisher';
import { createRuntime, type Runtime } from '../../src/runtime';
import { featuresFor, startTestStack, type GraphQLResponse, type TestStack } from '../support/stack';
import { separateProcesses, storedPointer, winsAndConflicts } from './support';

/**
 * Traffic settings (shadow, canary) live in the production pointer, so every
 * configureTraffic is a compare-and-swap of that pointer, racing promotions and
 * rollbacks of the same model — and predictions read the pointers while they move.
 */
describe('traffic changes racing promotions and predictions', () => {
  let stack: TestStack;
  let reference: Runtime;
  const processes = separateProcesses(() => stack);
  const description = { strategies: [...OPTION_STRATEGIES] };

  /** A Deployments over its own client, store and registry: what a separate process would have. */
  const separateProcess = (): Deployments => processes.open().deployments;
  const pointerNow = (model: string) => storedPointer(stack, model);

  beforeAll(async () => {
    // Pointer TTL 0: the server revalidates pointers on every request, so it sees other processes' writes at once.
    stack = await startTestStack({ env: { POINTER_TTL_SECONDS: '0', SHADOW_FLUSH_SECONDS: '3600' } });
    const { store, deployments } = stack.server.runtime;
    // (a) a model of its own for the writers' race
    for (let i = 0; i <= 5; i++)
      await publishVersion(store, 'etfs/TRAF', `v${i}`, demoVersionFiles(900 + i, { trees: 2, depth: 2 }), description);
    await deployments.promote({ model: 'etfs/TRAF', version: 'v0', stage: 'PRODUCTION', by: 'setup' });
    // (b) more versions of SPY (production flips v1.1.0 ↔ v1.2.0, staging v1.3.0 ↔ v1.2.0) and a stock candidate for the canary
    await publishVersion(store, 'etfs/SPY', 'v1.2.0', demoVersionFiles(777), description);
    await publishVersion(store, 'etfs/SPY', 'v1.3.0', demoVersionFiles(778), description);
    await deployments.promote({ model: 'etfs/SPY', version: 'v1.3.0', stage: 'STAGING', by: 'setup' });
    await publishVersion(store, 'stocks/universal', 'v1.2.0', demoVersionFiles(779), description);
    await deployments.promote({ model: 'stocks/universal', version: 'v1.2.0', stage: 'STAGING', by: 'setup' });
    // Reference answers come from another runtime's own sessions, not from the server's predictor.
    reference = createRuntime(
      loadConfig({ MODEL_BUCKET: stack.server.runtime.bucket, S3_ENDPOINT: stack.server.s3!.endpoint }),
      {
        credentials: EMBEDDED_S3_CREDENTIALS,
      },
    );
  });
  afterAll(async () => {
    reference?.models.clear();
    processes.close();
    await stack?.close();
  });

  it('(a) 10 configureTraffic and 5 promotions of one model from separate processes: CONFLICT or recorded once, settings carried from the base they swapped', async () => {
    const MODEL = 'etfs/TRAF';
    // At least 3 rounds; more (up to 12) until both kinds of writer have won. Which kind wins a round is the
    // scheduler's choice, and a promotion makes more reads before its write than a traffic change, so a round
    // where no promotion has won yet gives the promoters a head start (they still race each other).
    const MIN_ROUNDS = 3;
    const MAX_ROUNDS = 12;
    let allWins = 0;
    let allLosses = 0;
    let trafficWins = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (round >= MIN_ROUNDS && allLosses > 0 && trafficWins > 0 && allWins - trafficWins > 0) break;
      const promotersFirst = round > 0 && allWins - trafficWins === 0;
      // Prepare: 15 writers, each its own process; some settings are omitted (they must then come from the pointer they replaced).
      const before = await pointerNow(MODEL);
      const requested = new Map<string, { shadow?: boolean; canaryPercent?: number }>();
      const trafficCalls: Array<() => Promise<DeploymentResult>> = [];
      const promotionCalls: Array<() => Promise<DeploymentResult>> = [];
      for (let i = 0; i < 10; i++) {
        const settings =
          i % 3 === 0
            ? { shadow: (i + round) % 2 === 0, canaryPercent: (round % 9) * 10 + i + 0.5 }
            : i % 3 === 1
              ? { canaryPercent: (round % 9) * 10 + i + 0.25 }
              : { shadow: (i + round) % 2 === 1 };
        const writer = separateProcess();
        trafficCalls.push(async () => {
          const result = await writer.configureTraffic({
            model: MODEL,
            ...settings,
            by: `traffic-${round}-${i}`,
            reason: `race ${round}`,
          });
          requested.set(result.record.id, settings);
          return result;
        });
      }
      for (let i = 1; i <= 5; i++) {
        const writer = separateProcess();
        promotionCalls.push(() =>
          writer.promote({ model: MODEL, version: `v${i}`, stage: 'PRODUCTION', by: `promoter-${round}-${i}` }),
        );
      }

      // Act
      const [early, late] = promotersFirst ? [promotionCalls, trafficCalls] : [trafficCalls, promotionCalls];
      const started = Promise.allSettled(early.map((call) => call()));
      if (promotersFirst) await sleep(15);
      const settled = [...(await started), ...(await Promise.allSettled(late.map((call) => call())))];

      // Assess: every call won or lost with CONFLICT
      const { wins, losses } = winsAndConflicts(settled);
      allWins += wins.length;
      allLosses += losses.length;

      // The pointer's history gained exactly one entry per success, in generation order.
      const final = await pointerNow(MODEL);
      const added = final.history.slice(before.history.length);
      expect(final.history.slice(0, before.history.length)).toEqual(before.history);
      expect(added.map((r) => r.id).sort()).toEqual(wins.map((w) => w.record.id).sort());
      expect(added.map((r) => r.generation)).toEqual(added.map((_, k) => before.generation + k + 1));
      expect(final.generation).toBe(before.generation + wins.length);
      // Each entry is what its winner was told, and starts where the previous one ended.
      const told = new Map(wins.map((w) => [w.record.id, w.record]));
      let version = before.version;
      let traffic: Traffic = before.traffic ?? TRAFFIC_OFF;
      for (const entry of added) {
        expect(entry).toEqual(told.get(entry.id));
        expect(entry.from).toBe(version);
        if (entry.action === 'TRAFFIC') {
          trafficWins++;
          expect(entry.to).toBe(version);
          const asked = requested.get(entry.id)!;
          // Omitted settings come from the pointer this write replaced — not from a stale read.
          const expected = {
            shadow: asked.shadow ?? traffic.shadow,
            canary_percent: asked.canaryPercent ?? traffic.canary_percent,
          };
          expect(entry.traffic).toEqual(expected);
          traffic = expected;
        } else {
          expect(entry.action).toBe('PROMOTE');
          expect(entry.traffic).toBeUndefined();
          version = entry.to;
        }
      }
      // The final settings are the last successful TRAFFIC entry's (promotions keep them), on the last winner's version.
      expect(final.version).toBe(version);
      expect(final.traffic ?? TRAFFIC_OFF).toEqual(traffic);
      const lastTraffic = final.history.findLast((r: DeploymentRecord) => r.action === 'TRAFFIC');
      if (lastTraffic) expect(final.traffic).toEqual(lastTraffic.traffic);
      // The server (which did not write) serves that state.
      const served = await stack.gql(
        `{ model(id: "${MODEL}") { production { version } traffic { shadow canaryPercent } } }`,
      );
      expect(served.data!.model).toEqual({
        production: { version },
        traffic: { shadow: traffic.shadow, canaryPercent: traffic.canary_percent },
      });
    }
    // It was a race, and both kinds of writer won some of the time.
    expect(allLosses).toBeGreaterThan(0);
    expect(trafficWins).toBeGreaterThan(0);
    expect(allWins - trafficWins).toBeGreaterThan(0);
  });

  it('(b) predictions while SPY flips versions and shadow mode and the stocks canary toggle: every answer is one a stage served, computed by that version', async () => {
    const ROWS = 4;
    const ITERATIONS = 12;
    const rows = Array.from({ length: ROWS }, (_, r) => featuresFor(DEMO_FEATURE_NAMES, 40 + r));
    const CANARY = 30;
    const STOCKS = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'GOOGL', 'AMZN', 'META', 'JPM', 'XOM', 'KO'];
    // Both kinds of stock are in the stream.
    expect(STOCKS.some((t) => inCanary('stocks/universal', t, CANARY))).toBe(true);
    expect(STOCKS.some((t) => !inCanary('stocks/universal', t, CANARY))).toBe(true);

    /**
     * The writer's states, in order. State k holds from the start of the write that made it
     * (it may land any time before that write's answer) until the answer of the next write.
     */
    interface State {
      spyProduction: string;
      spyStaging: string;
      shadow: boolean;
      canary: number;
      stocksProduction: string;
      stocksStaging: string;
    }
    const states: Array<{ state: State; from: number; to: number }> = [
      {
        state: {
          spyProduction: 'v1.1.0',
          spyStaging: 'v1.3.0',
          shadow: false,
          canary: 0,
          stocksProduction: 'v1.1.0',
          stocksStaging: 'v1.2.0',
        },
        from: -Infinity,
        to: Infinity,
      },
    ];
    const possible = (start: number, end: number) =>
      states.filter((s) => s.from <= end && s.to >= start).map((s) => s.state);

    const writeCodes: string[] = [];
    const write = async (mutation: string, change: Partial<State>) => {
      const start = performance.now();
      const res = await stack.gqlAsWriter(mutation);
      const end = performance.now();
      writeCodes.push(res.errors ? String(res.errors[0].extensions?.code) : 'OK');
      states.at(-1)!.to = end;
      states.push({ state: { ...states.at(-1)!.state, ...change }, from: start, to: Infinity });
    };

    const PREDICT_MANY = `query($requests: [PredictionRequest!]!) {
      predictMany(requests: $requests) {
        ticker version stage canary strategy confidence model { id } probabilities { label probability }
        ensemble { voting members { model { id } version weight strategy confidence } }
        shadow { version strategy confidence agrees }
      }
    }`;
    type Answer = {
      ticker: string;
      version: string;
      stage: 'PRODUCTION' | 'STAGING';
      canary: boolean;
      strategy: string;
      confidence: number;
      model: { id: string };
      probabilities: Array<{ label: string; probability: number }>;
      ensemble: null | {
        voting: string;
        members: Array<{
          model: { id: string };
          version: string;
          weight: number;
          strategy: string;
          confidence: number;
        }>;
      };
      shadow: null | { version: string; strategy: string; confidence: number; agrees: boolean };
    };
    const answers: Array<{ row: number; start: number; end: number; res: GraphQLResponse<{ predictMany: Answer[] }> }> =
      [];
    let writing = true;
    const reader = async (offset: number) => {
      for (let i = offset; writing; i++) {
        const row = i % ROWS;
        const requests = ['SPY', 'DIA', ...STOCKS].map((ticker) => ({ ticker, features: rows[row] }));
        const start = performance.now();
        const res = await stack.gql<{ predictMany: Answer[] }>(PREDICT_MANY, { requests });
        answers.push({ row, start, end: performance.now(), res });
        // The server runs in this process: leave the writer room to run.
        await sleep(5);
      }
    };

    // Act: one writer cycles through every combination while three readers stream
    const readers = [reader(0), reader(1), reader(2)];
    for (let i = 0; i < ITERATIONS; i++) {
      const production = i % 2 === 0 ? 'v1.2.0' : 'v1.1.0';
      await write(`mutation { promote(model: "etfs/SPY", version: "${production}", reason: "flip ${i}") { id } }`, {
        spyProduction: production,
      });
      const shadow = i % 3 !== 2;
      await write(`mutation { configureTraffic(model: "etfs/SPY", shadow: ${shadow}, reason: "shadow ${i}") { id } }`, {
        shadow,
      });
      const staging = i % 4 < 2 ? 'v1.2.0' : 'v1.3.0';
      await write(
        `mutation { promote(model: "etfs/SPY", version: "${staging}", stage: STAGING, reason: "stage ${i}") { id } }`,
        { spyStaging: staging },
      );
      const canary = i % 2 === 0 ? CANARY : 0;
      await write(`mutation { configureTraffic(model: "stocks/universal", canaryPercent: ${canary}) { id } }`, {
        canary,
      });
      await sleep(5);
    }
    writing = false;
    await Promise.all(readers);

    // Assess: the writer's moves all succeeded (it is the only writer)
    expect(
      writeCodes.every((c) => c === 'OK'),
      writeCodes.join(' '),
    ).toBe(true);
    expect(answers.length).toBeGreaterThan(30);

    // Reference answers for every (model, version, row) from separate sessions.
    const refs = new Map<string, RowPrediction[]>();
    const refOf = async (model: string, version: string, row: number): Promise<RowPrediction> => {
      const key = `${model}@${version}`;
      let r = refs.get(key);
      if (!r) {
        const bundle = await reference.models.get(
          model,
          version,
          await reference.registry.versionMetadata(model, version),
        );
        r = await bundle.predict(rows.map((f) => Float32Array.from(bundle.featureNames.map((n) => f[n]))));
        refs.set(key, r);
      }
      return r[row];
    };
    const expectAnswerOf = async (
      a: { strategy: string; confidence: number; probabilities?: Answer['probabilities'] },
      model: string,
      version: string,
      row: number,
    ) => {
      const ref = await refOf(model, version, row);
      expect(a.strategy, `${model}@${version} row ${row}`).toBe(ref.strategy);
      expect(a.confidence).toBeCloseTo(ref.confidence, 5);
      if (a.probabilities)
        a.probabilities.forEach((p, c) => expect(p.probability).toBeCloseTo(ref.probabilities[c], 5));
    };

    const seen = {
      spy: new Set<string>(),
      shadows: new Set<string>(),
      noShadow: 0,
      canary: 0,
      stocksProduction: 0,
      dia: 0,
    };
    for (const { row, start, end, res } of answers) {
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      const [spy, dia, ...stocks] = res.data!.predictMany;
      const during = possible(start, end);

      // SPY: production's version at some moment of the request; a shadow names a staging version ≠ its own
      expect(spy).toMatchObject({
        ticker: 'SPY',
        model: { id: 'etfs/SPY' },
        stage: 'PRODUCTION',
        canary: false,
        ensemble: null,
      });
      expect(during.map((s) => s.spyProduction)).toContain(spy.version);
      await expectAnswerOf(spy, 'etfs/SPY', spy.version, row);
      seen.spy.add(spy.version);
      if (spy.shadow) {
        expect(spy.shadow.version).not.toBe(spy.version);
        expect(during.some((s) => s.shadow)).toBe(true);
        expect(during.map((s) => s.spyStaging)).toContain(spy.shadow.version);
        await expectAnswerOf(spy.shadow, 'etfs/SPY', spy.shadow.version, row);
        expect(spy.shadow.agrees).toBe(spy.shadow.strategy === spy.strategy);
        seen.shadows.add(`${spy.version}→${spy.shadow.version}`);
      } else {
        seen.noShadow++;
        // Shadow was on throughout and no production version equalled any staging version: a shadow was owed.
        const owed =
          during.every((s) => s.shadow) && during.every((p) => during.every((s) => p.spyProduction !== s.spyStaging));
        expect(owed, `SPY ${spy.version} answered without a shadow during ${JSON.stringify(during)}`).toBe(false);
      }

      // DIA: the ensemble's version, members pinned to it whatever SPY's production serves
      expect(dia).toMatchObject({
        ticker: 'DIA',
        model: { id: DEMO_ENSEMBLE },
        version: 'v1.0.0',
        stage: 'PRODUCTION',
        canary: false,
        shadow: null,
      });
      expect(dia.ensemble!.voting).toBe('SOFT');
      expect(dia.ensemble!.members.map((m) => ({ model: m.model.id, version: m.version, weight: m.weight }))).toEqual(
        DEMO_ENSEMBLE_MEMBERS,
      );
      for (const m of dia.ensemble!.members) await expectAnswerOf(m, m.model.id, m.version, row);
      seen.dia++;

      // Stocks: a canary row only at a canary percentage the ticker is inside, served by staging's version
      for (const s of stocks) {
        expect(s.model.id).toBe('stocks/universal');
        if (s.canary) {
          expect(s.stage).toBe('STAGING');
          expect(inCanary('stocks/universal', s.ticker, CANARY)).toBe(true);
          expect(during.some((st) => st.canary === CANARY)).toBe(true);
          expect(during.map((st) => st.stocksStaging)).toContain(s.version);
          seen.canary++;
        } else {
          expect(s.stage).toBe('PRODUCTION');
          expect(during.map((st) => st.stocksProduction)).toContain(s.version);
          // A ticker inside the canary is served by production only while the canary may have been off.
          if (inCanary('stocks/universal', s.ticker, CANARY)) expect(during.some((st) => st.canary === 0)).toBe(true);
          seen.stocksProduction++;
        }
        await expectAnswerOf(s, 'stocks/universal', s.version, row);
      }
    }
    // The stream saw every situation it checks.
    expect([...seen.spy].sort()).toEqual(['v1.1.0', 'v1.2.0']);
    expect(seen.shadows.size).toBeGreaterThanOrEqual(2);
    expect(seen.noShadow).toBeGreaterThan(0);
    expect(seen.canary).toBeGreaterThan(0);
    expect(seen.stocksProduction).toBeGreaterThan(0);
    expect(seen.dia).toBeGreaterThan(answers.length / 2);
    console.log(
      `traffic races (b): ${answers.length} predictMany during ${writeCodes.length} writes; SPY shadows ${[...seen.shadows].join(', ')}; ` +
        `canary rows ${seen.canary}`,
    );

    // History: every write recorded once, TRAFFIC entries with their settings, traffic kept across the flips.
    const spy = await pointerNow('etfs/SPY');
    const actions = spy.history.slice(-2 * ITERATIONS).map((r) => r.action);
    expect(actions).toEqual(Array.from({ length: ITERATIONS }, () => ['PROMOTE', 'TRAFFIC']).flat());
    expect(spy.traffic).toEqual({ shadow: (ITERATIONS - 1) % 3 !== 2, canary_percent: 0 });
    expect(spy.version).toBe((ITERATIONS - 1) % 2 === 0 ? 'v1.2.0' : 'v1.1.0');
  });

  // Found by (b): Registry.noteWritten sets the pointer in the LRU cache while a revalidation of that
  // pointer is in flight; lru-cache aborts that fetch with Error('replaced'), and every request awaiting
  // it failed with an untyped INTERNAL_SERVER_ERROR "replaced". Registry.document now reads again.
  // Here the revalidation is held in flight with a stalled GET.
  it('a prediction whose pointer revalidation is in flight survives a promotion by this process', async () => {
    // This stack's pointer TTL is 0: every read revalidates (with the default 30 s, the same happens every 30 s).
    const PREDICT = `query($f: JSONObject!) { predict(ticker: "QQQ", features: $f) { version } }`;
    const f = featuresFor(DEMO_FEATURE_NAMES, 1);
    await publishVersion(stack.server.runtime.store, 'etfs/QQQ', 'v1.1.0', demoVersionFiles(780), description);
    expect((await stack.gql(PREDICT, { f })).data!.predict.version).toBe('v1.0.0');
    const s3 = stack.server.s3!;
    s3.injectFault({
      match: (r) => r.method === 'GET' && r.key === 'etfs/QQQ/production/metadata.json',
      kind: 'stall',
      times: 1,
    });
    try {
      const reading = stack.gql(PREDICT, { f });
      await sleep(100); // the revalidation is stalled in flight
      const promoted = await stack.gqlAsWriter(
        `mutation { promote(model: "etfs/QQQ", version: "v1.1.0") { toVersion } }`,
      );
      expect(promoted.errors).toBeUndefined(); // the promotion itself succeeds
      s3.clearFaults();
      const res = await reading;
      expect(res.errors).toBeUndefined(); // was: [{ message: 'replaced', extensions: { code: 'INTERNAL_SERVER_ERROR' } }]
      expect(['v1.0.0', 'v1.1.0']).toContain(res.data!.predict.version);
    } finally {
      s3.clearFaults();
    }
  });
});
