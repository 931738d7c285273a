/**
 * Section 7: what the newest serving features cost — ensembles, shadow mode
 * and canary traffic — against a ticker served directly by one model, through
 * the local server (startBenchLocalServer, in this process) over HTTP, warm.
 *
 * Set-up (in the bench bucket, on models of this section's own, so that no
 * other section sees a traffic setting): three ETF models with the demo's
 * model size (DEMO_DEFAULT_TREES trees, as every member of the demo ensemble),
 * each with v1 in production and v2 in staging:
 *   etfs/FEATD  direct, no traffic settings; also asked through the ensemble
 *               (`model: "ensembles/multi_asset_ensemble"`: etfs/SPY,
 *               stocks/universal, universal/all_assets_classifier, soft vote)
 *   etfs/FEATS  shadow mode on: every production row also runs v2
 *   etfs/FEATC  50 % canary: one ticker in the canary (served by v2 from
 *               staging), one out of it (served by production); both tickers
 *               use the model (`uses_model`), picked by the canary hash.
 * The cases are measured interleaved (one request of each in turn, the order
 * rotating) so that they share the machine's state and their ratios are fair.
 * Before timing, one request per case selects `stage`, `canary`, `shadow` and
 * `ensemble` and the section fails unless each feature did what it should.
 * Session runs per request come from runtime.models.counters.
 */
import { DEMO_DEFAULT_DEPTH, DEMO_DEFAULT_TREES } from '../../src/demo/treeEnsemble';
import { DEMO_ENSEMBLE, DEMO_ENSEMBLE_MEMBERS, demoDescription, demoVersionFiles } from '../../src/local/demoSeed';
import { inCanary } from '../../src/inference/canary';
import type { AssetRegistryDocument } from '../../src/registry/assetRegistry';
import { ASSET_REGISTRY_KEY, shadowStatsPrefix } from '../../src/registry/bucketLayout';
import { publishVersion } from '../../src/registry/versionPublisher';
import { ConfigSchema } from '../../src/config';
import { ShadowTracker } from '../../src/inference/shadowTracker';
import type { ObjectStore } from '../../src/storage/objectStore';
import { registerEnsemble } from '../../src/release/registerEnsemble';
import type { PredictionRequest } from '../../src/inference/predictor';
import type { BenchBucket } from '../lib/benchBucket';
import { featureRow } from '../lib/graphqlPayloads';
import type { BenchLocalServer } from '../lib/localStack';
import { mb, table } from '../lib/markdown';
import { fmtInt, fmtRatio, ms, percentile, summarize, type Summary } from '../lib/stats';

export type FeatureCaseName = 'direct' | 'ensemble' | 'shadow' | 'canaryIn' | 'canaryOut';

export interface FeatureCase {
  name: FeatureCaseName;
  label: string;
  ticker: string;
  /** predict's `model` argument (absent: the ticker's own model). */
  modelArg?: string;
  /** What answered, from the verification request: "etfs/FEATS@v1 (PRODUCTION) + shadow v2". */
  servedBy: string;
  ms: Summary;
  p95Ms: number;
  /** This case's p50 ÷ the direct case's p50 (and the same for p95). */
  ratio: number;
  p95Ratio: number;
  /** onnxruntime session.run calls per request (the same in every request, else the maximum and a note). */
  sessionRunsPerRequest: number;
}

export interface FeatureBatchCase {
  name: 'direct' | 'shadow' | 'ensemble';
  label: string;
  ticker: string;
  modelArg?: string;
  /** GraphQL over HTTP: POST until the whole response is read. */
  ms: Summary;
  ratio: number;
  /** runtime.predictor.predictBatch alone, same rows (routing, validation, runs, answers, votes). */
  predictorMs: Summary;
  predictorRatio: number;
  sessionRunsPerRequest: number;
  rowsRunPerRequest: number;
  requestBytes: number;
  responseBytes: number;
}

export interface ShadowReadCase {
  name: 'uncompacted' | 'compacted';
  /** Objects under the model's shadow prefix when read (count files, plus summary.json when compacted). */
  objects: number;
  /** One `agreement()` of a fresh instance (nothing cached). */
  ms: Summary;
  getsPerRead: number;
  listsPerRead: number;
}

export interface ShadowReadsResult {
  /** Flushes written per case (one count file each). */
  flushes: number;
  compactAfterFiles: number;
  repetitions: number;
  /** Wall time of writing the flushes: without compaction, with it. */
  writeMs: { uncompacted: number; compacted: number };
  cases: ShadowReadCase[];
  /** compacted p50 ÷ uncompacted p50. */
  ratio: number;
}

export interface FeaturesResult {
  /** Bytes of each single model involved (all the demo's size). */
  modelBytes: number;
  trees: number;
  depth: number;
  ensemble: { model: string; version: string; voting: string; members: string[]; registered: boolean };
  canaryPercent: number;
  single: { count: number; warmup: number; cases: FeatureCase[] };
  batch: { rows: number; repetitions: number; cases: FeatureBatchCase[] };
  shadowReads: ShadowReadsResult;
  notes: string[];
}

const QUERY = `query Predict($ticker: String!, $features: JSONObject!, $model: ID) {
  predict(ticker: $ticker, features: $features, model: $model) { ticker strategy confidence version model { id } probabilities { label probability } }
}`;

const VERIFY_QUERY = `query Verify($ticker: String!, $features: JSONObject!, $model: ID) {
  predict(ticker: $ticker, features: $features, model: $model) {
    version stage canary model { id }
    shadow { version agrees }
    ensemble { voting members { model { id } version } }
  }
}`;

const MANY_QUERY = `query PredictMany($requests: [PredictionRequest!]!) {
  predictMany(requests: $requests) { ticker strategy confidence version probabilities { label probability } }
}`;

const CANARY_PERCENT = 50;
const BY = 'bench';

interface Verified {
  version: string;
  stage: string;
  canary: boolean;
  model: { id: string };
  shadow: { version: string; agrees: boolean } | null;
  ensemble: { voting: string; members: Array<{ model: { id: string }; version: string }> } | null;
}

export async function runBucketFeatures(
  _bucket: BenchBucket,
  local: BenchLocalServer,
  opts: {
    single: { count: number; warmup: number };
    batch: { rows: number; repetitions: number };
    shadowReads: { flushes: number; repetitions: number };
    log: (line: string) => void;
  },
): Promise<FeaturesResult> {
  const { runtime } = local.server;
  const { store, deployments, registry } = runtime;
  const notes: string[] = [];

  // --- Set-up: three models (v1 production, v2 staging) and their tickers.
  const v1 = demoVersionFiles(9101);
  const v2 = demoVersionFiles(9102);
  const description = demoDescription({ accuracy: 0.6, created: '2026-11-01T00:00:00Z' });
  const models = { direct: 'etfs/FEATD', shadow: 'etfs/FEATS', canary: 'etfs/FEATC' };
  for (const model of Object.values(models)) {
    for (const [version, files] of [
      ['v1', v1],
      ['v2', v2],
    ] as const) {
      if (!(await store.head(`${model}/archive/${version}/metadata.json`)))
        await publishVersion(store, model, version, files, description);
    }
    await deployments.promote({
      model,
      version: 'v1',
      stage: 'PRODUCTION',
      by: BY,
      reason: 'benchmark: features section',
    });
    await deployments.promote({
      model,
      version: 'v2',
      stage: 'STAGING',
      by: BY,
      reason: 'benchmark: features section',
    });
  }
  // Canary tickers of etfs/FEATC: the first candidates in and out of the 50 % (the hash is deterministic).
  const candidates = Array.from({ length: 40 }, (_, i) => `FEATC${i}`);
  const canaryIn = candidates.find((t) => inCanary(models.canary, t, CANARY_PERCENT))!;
  const canaryOut = candidates.find((t) => !inCanary(models.canary, t, CANARY_PERCENT))!;
  const doc = JSON.parse((await store.get(ASSET_REGISTRY_KEY)).body.toString('utf8')) as AssetRegistryDocument;
  const etf = (name: string, extra: Record<string, string>) => ({
    name,
    sector: 'Benchmark',
    status: 'active',
    ...extra,
  });
  doc.etfs.FEATD = etf('Benchmark: served directly', { model_path: `${models.direct}/production/` });
  doc.etfs.FEATS = etf('Benchmark: shadow mode', { model_path: `${models.shadow}/production/` });
  doc.etfs[canaryIn] = etf('Benchmark: in the canary', { uses_model: models.canary });
  doc.etfs[canaryOut] = etf('Benchmark: out of the canary', { uses_model: models.canary });
  await store.put(ASSET_REGISTRY_KEY, JSON.stringify(doc, null, 2), { contentType: 'application/json' });
  registry.invalidate();
  await deployments.configureTraffic({ model: models.shadow, shadow: true, by: BY, reason: 'benchmark: shadow cost' });
  await deployments.configureTraffic({
    model: models.canary,
    canaryPercent: CANARY_PERCENT,
    by: BY,
    reason: 'benchmark: canary cost',
  });

  // The ensemble: the demo's when the bucket has it deployed, else one registered here from the same members.
  let ensembleModel = DEMO_ENSEMBLE;
  let registered = false;
  if (!(await registry.stagePointer(DEMO_ENSEMBLE, 'PRODUCTION'))?.value.ensemble) {
    ensembleModel = 'ensembles/bench_features';
    if (!(await store.head(`${ensembleModel}/archive/v1/metadata.json`))) {
      await registerEnsemble(
        registry,
        { model: ensembleModel, version: 'v1', members: DEMO_ENSEMBLE_MEMBERS, voting: 'soft' },
        BY,
      );
    }
    await deployments.promote({
      model: ensembleModel,
      version: 'v1',
      stage: 'PRODUCTION',
      by: BY,
      reason: 'benchmark: features section',
    });
    registered = true;
  }
  const ensemblePointer = (await registry.stagePointer(ensembleModel, 'PRODUCTION'))!.value;
  const members = ensemblePointer.ensemble?.members ?? [];

  // --- Single `predict`, warm.
  const cases: Array<{ name: FeatureCaseName; label: string; ticker: string; modelArg?: string }> = [
    { name: 'direct', label: "direct (the ticker's own model)", ticker: 'FEATD' },
    {
      name: 'ensemble',
      label: `ensemble of ${members.length} (same ticker, \`model:\` ${ensembleModel})`,
      ticker: 'FEATD',
      modelArg: ensembleModel,
    },
    { name: 'shadow', label: 'shadow on (staging runs in the same batch)', ticker: 'FEATS' },
    { name: 'canaryIn', label: `canary ${CANARY_PERCENT} %, ticker in it (staging)`, ticker: canaryIn },
    { name: 'canaryOut', label: `canary ${CANARY_PERCENT} %, ticker not in it (production)`, ticker: canaryOut },
  ];
  const bodyFor = (c: (typeof cases)[number], query: string, row: number) =>
    JSON.stringify({ query, variables: { ticker: c.ticker, features: featureRow(row), model: c.modelArg ?? null } });
  const post = async (body: string) => {
    const res = await local.post(body);
    if (res.status !== 200 || res.text.includes('"errors"'))
      throw new Error(`features: request failed (${res.status}): ${res.text.slice(0, 400)}`);
    return res.text;
  };

  const servedBy = new Map<FeatureCaseName, string>();
  for (const c of cases) {
    const v = (JSON.parse(await post(bodyFor(c, VERIFY_QUERY, 1))) as { data: { predict: Verified } }).data.predict;
    const fail = (why: string) => {
      throw new Error(`features: ${c.name} (${c.ticker}) ${why}: ${JSON.stringify(v)}`);
    };
    if (
      c.name === 'direct' &&
      (v.model.id !== models.direct || v.shadow || v.ensemble || v.canary || v.stage !== 'PRODUCTION')
    )
      fail('was not served directly by production');
    if (
      c.name === 'ensemble' &&
      (v.model.id !== ensembleModel || v.ensemble?.members.length !== members.length || members.length !== 3)
    )
      fail('was not answered by a 3-member ensemble');
    if (c.name === 'shadow' && (v.shadow?.version !== 'v2' || v.version !== 'v1')) fail('got no shadow answer from v2');
    if (c.name === 'canaryIn' && !(v.canary && v.stage === 'STAGING' && v.version === 'v2'))
      fail('was not served by the canary');
    if (c.name === 'canaryOut' && (v.canary || v.stage !== 'PRODUCTION' || v.version !== 'v1'))
      fail('was not served by production');
    servedBy.set(
      c.name,
      `${v.model.id}@${v.version} (${v.stage})${v.shadow ? ` + shadow ${v.shadow.version}` : ''}${v.ensemble ? `: ${v.ensemble.members.map((m) => `${m.model.id}@${m.version}`).join(', ')}` : ''}`,
    );
  }

  const bodies = cases.map((c) => Array.from({ length: 16 }, (_, k) => bodyFor(c, QUERY, k)));
  const times: number[][] = cases.map(() => []);
  const runs: Array<Set<number>> = cases.map(() => new Set());
  for (let i = 0; i < opts.single.warmup + opts.single.count; i++) {
    for (let j = 0; j < cases.length; j++) {
      const k = (i + j) % cases.length;
      const before = runtime.models.counters.sessionRuns;
      const started = performance.now();
      await post(bodies[k][i % 16]);
      const ms = performance.now() - started;
      if (i >= opts.single.warmup) {
        times[k].push(ms);
        runs[k].add(runtime.models.counters.sessionRuns - before);
      }
    }
  }
  const perRequest = (label: string, values: Set<number>) => {
    if (values.size > 1) notes.push(`features: ${label} session runs per request varied: ${[...values].join(', ')}`);
    return Math.max(...values);
  };
  const directSingle = summarize(times[0]);
  const directP95 = percentile(
    [...times[0]].sort((a, b) => a - b),
    95,
  );
  const singleCases: FeatureCase[] = cases.map((c, k) => {
    const s = summarize(times[k]);
    const p95 = percentile(
      [...times[k]].sort((a, b) => a - b),
      95,
    );
    return {
      ...c,
      servedBy: servedBy.get(c.name)!,
      ms: s,
      p95Ms: p95,
      ratio: s.median / directSingle.median,
      p95Ratio: p95 / directP95,
      sessionRunsPerRequest: perRequest(`predict ${c.name}`, runs[k]),
    };
  });
  for (const c of singleCases) {
    opts.log(
      `features: predict ${c.name}: p50 ${c.ms.median.toFixed(3)} ms (${c.ratio.toFixed(2)}×), p95 ${c.p95Ms.toFixed(3)} ms, ${c.sessionRunsPerRequest} session run(s)`,
    );
  }

  // --- predictMany of `rows` rows of one ticker: direct, shadow, ensemble.
  const batchCases: Array<{ name: FeatureBatchCase['name']; label: string; ticker: string; modelArg?: string }> = [
    { name: 'direct', label: 'direct', ticker: 'FEATD' },
    { name: 'shadow', label: 'shadow on', ticker: 'FEATS' },
    {
      name: 'ensemble',
      label: `ensemble of ${members.length} (${ensembleModel})`,
      ticker: 'FEATD',
      modelArg: ensembleModel,
    },
  ];
  const rows = Array.from({ length: opts.batch.rows }, (_, i) => featureRow(i));
  const requestsFor = (c: (typeof batchCases)[number]): PredictionRequest[] =>
    rows.map((features) => ({ ticker: c.ticker, features, ...(c.modelArg ? { model: c.modelArg } : {}) }));
  const batchBodies = batchCases.map((c) =>
    Buffer.from(JSON.stringify({ query: MANY_QUERY, variables: { requests: requestsFor(c) } })),
  );
  const batchRequests = batchCases.map(requestsFor);
  const http: number[][] = batchCases.map(() => []);
  const predictor: number[][] = batchCases.map(() => []);
  const batchRuns: Array<Set<number>> = batchCases.map(() => new Set());
  const batchRows: Array<Set<number>> = batchCases.map(() => new Set());
  const responseBytes: number[] = batchCases.map(() => 0);
  for (let i = 0; i <= opts.batch.repetitions; i++) {
    for (let j = 0; j < batchCases.length; j++) {
      const k = (i + j) % batchCases.length;
      const runsBefore = runtime.models.counters.sessionRuns;
      const rowsBefore = runtime.models.counters.rowsPredicted;
      let started = performance.now();
      const res = await local.post(batchBodies[k]);
      const ms = performance.now() - started;
      if (res.status !== 200 || !res.text.startsWith('{"data":{"predictMany":['))
        throw new Error(
          `features: predictMany ${batchCases[k].name} failed (${res.status}): ${res.text.slice(0, 400)}`,
        );
      const runsAfter = runtime.models.counters.sessionRuns;
      const rowsAfter = runtime.models.counters.rowsPredicted;
      started = performance.now();
      const answers = await runtime.predictor.predictBatch(batchRequests[k]);
      const predictorMs = performance.now() - started;
      const failed = answers.find((a) => a instanceof Error);
      if (failed) throw failed;
      if (i === 0) continue; // warm-up: loads and JIT
      http[k].push(ms);
      predictor[k].push(predictorMs);
      batchRuns[k].add(runsAfter - runsBefore);
      batchRows[k].add(rowsAfter - rowsBefore);
      responseBytes[k] = Buffer.byteLength(res.text);
    }
  }
  const directHttp = summarize(http[0]);
  const directPredictor = summarize(predictor[0]);
  const batchResults: FeatureBatchCase[] = batchCases.map((c, k) => {
    const s = summarize(http[k]);
    const p = summarize(predictor[k]);
    return {
      ...c,
      ms: s,
      ratio: s.median / directHttp.median,
      predictorMs: p,
      predictorRatio: p.median / directPredictor.median,
      sessionRunsPerRequest: perRequest(`predictMany ${c.name}`, batchRuns[k]),
      rowsRunPerRequest: perRequest(`predictMany ${c.name} rows`, batchRows[k]),
      requestBytes: batchBodies[k].byteLength,
      responseBytes: responseBytes[k],
    };
  });
  for (const c of batchResults) {
    opts.log(
      `features: predictMany ${opts.batch.rows} rows ${c.name}: p50 ${c.ms.median.toFixed(1)} ms (${c.ratio.toFixed(2)}×), predictor ${c.predictorMs.median.toFixed(1)} ms (${c.predictorRatio.toFixed(2)}×), ${c.sessionRunsPerRequest} session run(s), ${c.rowsRunPerRequest} rows run`,
    );
  }

  const shadowReads = await measureShadowReads(store, opts.shadowReads, opts.log);

  return {
    modelBytes: v1['model.onnx'].byteLength,
    trees: DEMO_DEFAULT_TREES,
    depth: DEMO_DEFAULT_DEPTH,
    ensemble: {
      model: ensembleModel,
      version: ensemblePointer.version,
      voting: ensemblePointer.ensemble?.voting ?? 'soft',
      members: members.map((m) => `${m.model}@${m.version} (weight ${m.weight})`),
      registered,
    },
    canaryPercent: CANARY_PERCENT,
    single: { count: opts.single.count, warmup: opts.single.warmup, cases: singleCases },
    batch: { rows: opts.batch.rows, repetitions: opts.batch.repetitions, cases: batchResults },
    shadowReads,
    notes,
  };
}

/**
 * What compaction buys a reader of `Model.shadowAgreement`: `flushes` count
 * files of one pair written as instances write them (one PUT per flush), once
 * for a model whose files are never compacted and once with the default
 * SHADOW_COMPACT_FILES; then a fresh instance (empty cache) reads each, the
 * two cases interleaved. The answers must be equal.
 */
async function measureShadowReads(
  store: ObjectStore,
  opts: { flushes: number; repetitions: number },
  log: (line: string) => void,
): Promise<ShadowReadsResult> {
  const compactAfterFiles = ConfigSchema.shape.SHADOW_COMPACT_FILES.parse(undefined);
  const models = { uncompacted: 'etfs/FEATRAW', compacted: 'etfs/FEATCMP' } as const;
  const writeMs = { uncompacted: 0, compacted: 0 };
  for (const name of ['uncompacted', 'compacted'] as const) {
    const writer = new ShadowTracker(store, {
      flushIntervalMs: 0,
      compactAfterFiles: name === 'compacted' ? compactAfterFiles : Number.POSITIVE_INFINITY,
    });
    const started = performance.now();
    for (let i = 0; i < opts.flushes; i++) {
      writer.record(models[name], 'v1', 'v2', 100, 90 + (i % 10));
      await writer.flush();
    }
    writeMs[name] = performance.now() - started;
  }
  const names = ['uncompacted', 'compacted'] as const;
  const samples: Record<(typeof names)[number], number[]> = { uncompacted: [], compacted: [] };
  const requests = {
    uncompacted: { gets: new Set<number>(), lists: new Set<number>() },
    compacted: { gets: new Set<number>(), lists: new Set<number>() },
  };
  const answers: Record<string, string> = {};
  for (let i = 0; i < opts.repetitions; i++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length];
      const reader = new ShadowTracker(store, {
        flushIntervalMs: 3_600_000,
        compactAfterFiles: Number.POSITIVE_INFINITY,
      });
      const before = { ...store.counters };
      const started = performance.now();
      const [pair] = await reader.agreement(models[name]);
      samples[name].push(performance.now() - started);
      requests[name].gets.add(store.counters.gets - before.gets);
      requests[name].lists.add(store.counters.lists - before.lists);
      answers[name] = JSON.stringify({ rows: pair.rows, agreements: pair.agreements });
    }
  }
  if (answers.uncompacted !== answers.compacted)
    throw new Error(`features: shadow reads disagree: ${answers.uncompacted} vs ${answers.compacted}`);
  const cases: ShadowReadCase[] = [];
  for (const name of names) {
    cases.push({
      name,
      objects: (await store.listKeys(shadowStatsPrefix(models[name]))).length,
      ms: summarize(samples[name]),
      getsPerRead: Math.max(...requests[name].gets),
      listsPerRead: Math.max(...requests[name].lists),
    });
  }
  const ratio = cases[1].ms.median / cases[0].ms.median;
  for (const c of cases) {
    log(
      `features: shadowAgreement read, ${opts.flushes} flushes ${c.name}: p50 ${c.ms.median.toFixed(2)} ms, ${c.objects} objects, ${c.getsPerRead} GETs + ${c.listsPerRead} LISTs per read`,
    );
  }
  log(
    `features: compacted ÷ uncompacted read: ${ratio.toFixed(3)}×; writing the flushes took ${writeMs.uncompacted.toFixed(0)} / ${writeMs.compacted.toFixed(0)} ms`,
  );
  return { flushes: opts.flushes, compactAfterFiles, repetitions: opts.repetitions, writeMs, cases, ratio };
}

/** Section 7: what ensembles, shadow mode and canary cost against one directly served model, measured in the same run. */
export function renderFeatures(f: FeaturesResult): string {
  const out: string[] = [];
  out.push('');
  out.push('## 7. Ensembles, shadow mode, canary: warm cost against one directly served model, local server over HTTP');
  out.push('');
  out.push(
    `Every model involved has the demo models' size: ${f.trees} trees of depth ${f.depth}, ${(f.modelBytes / 1024).toFixed(0)} KiB. ` +
      `Ensemble: ${f.ensemble.model}@${f.ensemble.version}${f.ensemble.registered ? ' (registered by the benchmark)' : ''}, ${f.ensemble.voting} vote of ${f.ensemble.members.join(', ')}.`,
  );
  out.push('');
  out.push(`One \`predict\` (${f.single.count} per case after ${f.single.warmup} warm-up, the cases interleaved):`);
  out.push('');
  out.push(
    table(
      ['Case', 'Ticker', 'Served by', 'Session runs', 'p50', 'p95', 'p99', 'p50 ÷ direct', 'p95 ÷ direct'],
      f.single.cases.map((c) => [
        c.label,
        c.ticker,
        c.servedBy,
        String(c.sessionRunsPerRequest),
        ms(c.ms.median),
        ms(c.p95Ms),
        ms(c.ms.p99),
        fmtRatio(c.ratio),
        fmtRatio(c.p95Ratio),
      ]),
    ),
  );
  out.push('');
  out.push(
    `\`predictMany\` of ${fmtInt(f.batch.rows)} rows of one ticker (${f.batch.repetitions} per case after one warm-up, interleaved):`,
  );
  out.push('');
  out.push(
    table(
      [
        'Case',
        'Session runs',
        'Rows run',
        'Request',
        'Response',
        'HTTP p50',
        'HTTP p99',
        'HTTP ÷ direct',
        'Predictor p50',
        'Predictor ÷ direct',
      ],
      f.batch.cases.map((c) => [
        c.label,
        String(c.sessionRunsPerRequest),
        fmtInt(c.rowsRunPerRequest),
        mb(c.requestBytes),
        mb(c.responseBytes),
        ms(c.ms.median),
        ms(c.ms.p99),
        fmtRatio(c.ratio),
        ms(c.predictorMs.median),
        fmtRatio(c.predictorRatio),
      ]),
    ),
  );
  out.push('');
  out.push(
    `Each case is its own model with the same bytes (v1 in production, v2 in staging), so the cases run interleaved in one window: shadow = \`configureTraffic(shadow: true)\`, canary = \`configureTraffic(canaryPercent: ${f.canaryPercent})\`, one ticker on each side of the canary hash. ` +
      'Before timing, one request per case checks what answered (stage, canary, shadow version, ensemble members). Session runs and rows run per request come from runtime.models.counters; ' +
      'Predictor = `runtime.predictor.predictBatch` of the same rows in-process (routing, validation, runs, votes, answer objects; no GraphQL, no JSON).',
  );
  const r = f.shadowReads;
  out.push('');
  out.push(
    `\`Model.shadowAgreement\` after ${fmtInt(r.flushes)} flushes of one pair of versions, read by a fresh instance (nothing cached; ${r.repetitions} reads per case, interleaved), ` +
      `with the count files left as written and compacted every ${r.compactAfterFiles} files (SHADOW_COMPACT_FILES' default):`,
  );
  out.push('');
  out.push(
    table(
      [
        'Case',
        'Objects read from',
        'GETs per read',
        'LISTs per read',
        'p50',
        'p99',
        'p50 ÷ uncompacted',
        'Writing the flushes',
      ],
      r.cases.map((c) => [
        c.name,
        fmtInt(c.objects),
        String(c.getsPerRead),
        String(c.listsPerRead),
        ms(c.ms.median),
        ms(c.ms.p99),
        fmtRatio(c.ms.median / r.cases[0].ms.median),
        ms(r.writeMs[c.name]),
      ]),
    ),
  );
  return out.join('\n');
}
