/**
 * Section 1 (cold start to first prediction) and section 2 (warm single
 * prediction), both in fresh child processes:
 *
 *  - handler: imports the Lambda function and answers one `predict` API Gateway
 *    v2 event (module load + init + pointer + model fetch + checksum + session +
 *    inference + GraphQL), then optionally keeps invoking it warm;
 *  - floor: GETs the same model bytes from the same S3 server (or reads them
 *    from the same disk cache file), creates the onnxruntime session with the
 *    same options and runs one row, then optionally keeps running one row.
 *
 * Handler and floor runs alternate, so drift on the machine hits both alike.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchBucket, ModelFileName, SizeName } from '../lib/benchBucket';
import { bucketEnv } from '../lib/benchBucket';
import { cleanEnv, messageOf, runChild, writeSpec, type ChildMessage } from '../lib/child';
import { featureVector, predictEvent } from '../lib/graphqlPayloads';
import { REPO_ROOT, type LambdaTarget } from '../lib/lambdaTarget';
import { n1, table } from '../lib/markdown';
import { fmtRatio, ms, spread, summarize, type Summary } from '../lib/stats';

export type DiskMode = 'off' | 'empty' | 'filled';

export interface ColdScenario {
  id: string;
  size: SizeName;
  file: ModelFileName;
  disk: DiskMode;
  /** Name the model in WARM_MODELS, so the function starts loading it during init. */
  warmModels?: boolean;
  /** The scenario the goal is judged on (per size). */
  headline: boolean;
}

/** Exclusive slices of the handler's time to first prediction (medians over the repetitions). */
export const HANDLER_SLICES = [
  'processStart',
  'moduleLoadAndInit',
  's3Metadata',
  'modelFetch',
  'diskRead',
  'checksum',
  'decompress',
  'ortImport',
  'sessionCreate',
  'probe',
  'inference',
  'beforeFirstS3',
  'otherDuringLoad',
  'afterInference',
  'spawnAndPipe',
] as const;
export type HandlerSlice = (typeof HANDLER_SLICES)[number];

export const FLOOR_SLICES = [
  'processStart',
  'fetch',
  'ortImportNotOverlapped',
  'decompress',
  'sessionCreate',
  'inference',
  'other',
  'spawnAndPipe',
] as const;
export type FloorSlice = (typeof FLOOR_SLICES)[number];

export interface ColdScenarioResult extends ColdScenario {
  handler: Summary;
  floor: Summary;
  /** median(handler) / median(floor) */
  ratio: number;
  /** median(handler) − median(floor), ms */
  deltaMs: number;
  handlerBreakdown: Record<HandlerSlice, number>;
  floorBreakdown: Record<FloorSlice, number>;
  /** S3 requests the handler sent before answering (from the child's HTTP trace), median. */
  handlerS3Requests: number;
  /** The S3 requests of the first repetition, in order (method, key, ms). */
  handlerS3Log: Array<{ method: string; path: string; ms: number; bytes: number }>;
  /** Did the handler's answer match the floor's most probable class? */
  sameAnswer: boolean;
}

export interface WarmResult {
  size: SizeName;
  /** LOG_LEVEL=INFO, template.yaml's default: one log line and one EMF metrics line per invocation. */
  handler: Summary;
  /** The same with LOG_LEVEL=SILENT (the EMF metrics line is still written). */
  handlerSilent: Summary;
  bare: Summary;
  /** median(handler) − median(bare), ms */
  overheadP50Ms: number;
  overheadP99Ms: number;
}

export interface ColdStartOptions {
  scenarios: ColdScenario[];
  repetitions: Record<SizeName, number>;
  /** Warm invocations per child; undefined skips the warm section. */
  warm?: { count: number; warmup: number };
  sessionOptions: {
    intraOpNumThreads: number;
    interOpNumThreads: number;
    executionMode: 'sequential';
    graphOptimizationLevel: string;
  };
  log: (line: string) => void;
}

interface Interval {
  slice: HandlerSlice;
  start: number;
  end: number;
}

/**
 * Splits [from, to] into exclusive slices: at every instant the highest-priority
 * active interval wins. Time covered by no interval is "before" (ahead of the
 * first interval), "after" (behind the last one) or "during" (in between).
 */
function exclusiveSlices(
  intervals: Interval[],
  from: number,
  to: number,
  priority: readonly HandlerSlice[],
  idle: { before: HandlerSlice; during: HandlerSlice; after: HandlerSlice },
): Partial<Record<HandlerSlice, number>> {
  const clipped = intervals
    .map((i) => ({ ...i, start: Math.max(from, i.start), end: Math.min(to, Number.isFinite(i.end) ? i.end : to) }))
    .filter((i) => i.end > i.start);
  const first = Math.min(to, ...clipped.map((i) => i.start));
  const last = Math.max(from, ...clipped.map((i) => i.end));
  const points = [...new Set([from, to, ...clipped.flatMap((i) => [i.start, i.end])])].sort((a, b) => a - b);
  const out: Partial<Record<HandlerSlice, number>> = {};
  for (let k = 0; k + 1 < points.length; k++) {
    const [a, b] = [points[k], points[k + 1]];
    const active = clipped.filter((i) => i.start <= a && i.end >= b).map((i) => i.slice);
    const slice =
      priority.find((p) => active.includes(p)) ?? (b <= first ? idle.before : a >= last ? idle.after : idle.during);
    out[slice] = (out[slice] ?? 0) + (b - a);
  }
  return out;
}

const SLICE_PRIORITY: readonly HandlerSlice[] = [
  'sessionCreate',
  'probe',
  'inference',
  'ortImport',
  'decompress',
  'checksum',
  'diskRead',
  'modelFetch',
  's3Metadata',
];

function handlerBreakdown(msg: ChildMessage, modelKey: string): Record<HandlerSlice, number> {
  const m = msg as unknown as {
    scriptStart: number;
    importStart: number;
    importEnd: number;
    invokeStart: number;
    invokeEnd: number;
    atMs: number;
    phases: Array<{ phase: string; key: string; start: number; end: number }>;
    requests: Array<{ path: string; start: number; end: number; headers: number }>;
  };
  const phaseSlice: Record<string, HandlerSlice> = {
    'disk-read': 'diskRead',
    checksum: 'checksum',
    decompress: 'decompress',
    'ort-import': 'ortImport',
    'session-create': 'sessionCreate',
    probe: 'probe',
    run: 'inference',
  };
  const intervals: Interval[] = [];
  for (const p of m.phases) {
    if (p.phase === 's3-get')
      intervals.push({ slice: p.key === modelKey ? 'modelFetch' : 's3Metadata', start: p.start, end: p.end });
    else if (phaseSlice[p.phase]) intervals.push({ slice: phaseSlice[p.phase], start: p.start, end: p.end });
  }
  for (const r of m.requests) {
    const isModel = decodeURIComponent(r.path.split('?')[0]).endsWith(modelKey);
    intervals.push({
      slice: isModel ? 'modelFetch' : 's3Metadata',
      start: r.start,
      end: Number.isFinite(r.end) ? r.end : r.headers,
    });
  }
  const invoke = exclusiveSlices(intervals, m.invokeStart, m.invokeEnd, SLICE_PRIORITY, {
    before: 'beforeFirstS3',
    during: 'otherDuringLoad',
    after: 'afterInference',
  });
  const out = Object.fromEntries(HANDLER_SLICES.map((s) => [s, 0])) as Record<HandlerSlice, number>;
  Object.assign(out, invoke);
  out.processStart = m.importStart;
  out.moduleLoadAndInit = m.importEnd - m.importStart;
  // Between import and invoke the child only builds the context object; count it with what follows.
  out.beforeFirstS3 += m.invokeStart - m.importEnd;
  out.spawnAndPipe = m.atMs - m.invokeEnd;
  return out;
}

function floorBreakdown(msg: ChildMessage): Record<FloorSlice, number> {
  const m = msg as unknown as Record<string, number>;
  const ortNotOverlapped = Math.max(0, m.ortEnd - Math.max(m.ortStart, m.fetchEnd ?? m.ortStart));
  const fetch = m.fetchEnd - m.fetchStart;
  const decompress = m.decompressEnd - m.decompressStart;
  const session = m.sessionEnd - m.sessionStart;
  const run = m.runEnd - m.runStart;
  const total = m.runEnd;
  return {
    processStart: m.scriptStart,
    fetch,
    ortImportNotOverlapped: ortNotOverlapped,
    decompress,
    sessionCreate: session,
    inference: run,
    other: total - m.scriptStart - fetch - ortNotOverlapped - decompress - session - run,
    spawnAndPipe: m.atMs - m.runEnd,
  };
}

function medianOf<K extends string>(rows: Array<Record<K, number>>, keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, summarize(rows.map((r) => r[k])).median])) as Record<K, number>;
}

function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/**
 * Spawns the cold-start children of one target: `handler` imports the function and answers
 * `predict` events (then optionally warm ones), `floor` does the bare GET + session + run.
 * Both run on `target.node`. Shared by sections 1–2 and the what-if section.
 */
export function coldStartChildren(
  bucket: BenchBucket,
  target: LambdaTarget,
  sessionOptions: ColdStartOptions['sessionOptions'],
  specDir: string,
) {
  const handlerScript = join(REPO_ROOT, 'bench/children/handlerChild.mjs');
  const floorScript = join(REPO_ROOT, 'bench/children/floorChild.mjs');
  const requireFrom = `${target.cwd}/`;
  const lambdaEnv = {
    ...bucketEnv(bucket),
    NODE_ENV: 'production',
    LOG_LEVEL: 'INFO',
    AWS_LAMBDA_FUNCTION_NAME: 'modelgraph-bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1769',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    TZ: ':UTC',
    NODE_PATH: target.nodePath,
    MODELGRAPH_TRACE_COLDSTART: '1',
  };
  const floorEnv = { NODE_PATH: target.nodePath, MODELGRAPH_TRACE_COLDSTART: '1' };
  // The handler's events carry rows 0..15 (predictEvent); the floor predicts the same rows.
  const rows = Array.from({ length: 16 }, (_, i) => Array.from(featureVector(i)));

  const handlerRun = async (
    ticker: string,
    diskDir: string,
    warm?: { count: number; warmup: number },
    warmModels?: string,
    logLevel = 'INFO',
  ) => {
    const events = Array.from({ length: 16 }, (_, i) => predictEvent(ticker, i, `bench-${i}`));
    const spec = writeSpec(specDir, { entryUrl: target.entryUrl, events, warm });
    return runChild({
      script: handlerScript,
      node: target.node,
      execArgv: target.execArgv,
      env: cleanEnv({
        ...lambdaEnv,
        ...target.env,
        LOG_LEVEL: logLevel,
        DISK_CACHE_DIR: diskDir,
        WARM_MODELS: warmModels,
        MGB_SPEC: spec,
      }),
      cwd: target.cwd,
      timeoutMs: 120_000,
    });
  };
  const floorRun = async (
    source: { url?: string; file?: string },
    file: ModelFileName,
    warm?: { count: number; warmup: number },
  ) => {
    const compression = file.endsWith('.br') ? 'br' : file.endsWith('.gz') ? 'gz' : '';
    const spec = writeSpec(specDir, { ...source, compression, requireFrom, session: sessionOptions, rows, warm });
    return runChild({
      script: floorScript,
      node: target.node,
      env: cleanEnv({ ...floorEnv, MGB_SPEC: spec }),
      cwd: target.cwd,
      timeoutMs: 120_000,
    });
  };
  return { handlerRun, floorRun };
}

export async function runColdStart(
  bucket: BenchBucket,
  target: LambdaTarget,
  opts: ColdStartOptions,
): Promise<{ scenarios: ColdScenarioResult[]; warm: WarmResult[]; notes: string[] }> {
  const notes: string[] = [];
  const specDir = mkdtempSync(join(bucket.dataDir, '..', 'modelgraph-bench-specs-'));
  const { handlerRun, floorRun } = coldStartChildren(bucket, target, opts.sessionOptions, specDir);
  const classLabels = (await import('../../src/demo/strategies')).OPTION_STRATEGIES;

  const results: ColdScenarioResult[] = [];
  for (const sc of opts.scenarios) {
    const variant = bucket.sizes[sc.size].variants[sc.file];
    const url = `${bucket.endpoint}/${bucket.bucket}/${variant.key}`;
    let filledDir: string | undefined;
    let floorSource: { url?: string; file?: string } = { url };
    if (sc.disk === 'filled') {
      filledDir = mkdtempSync(join(specDir, 'disk-'));
      messageOf(await handlerRun(variant.ticker, filledDir), 'cold', `${sc.id}: filling the disk cache`);
      const cached = join(filledDir, variant.sha256);
      if (!existsSync(cached)) {
        notes.push(
          `${sc.id}: skipped — the handler wrote no ${variant.sha256.slice(0, 12)}… into DISK_CACHE_DIR (files: ${readdirSync(filledDir).join(', ') || 'none'})`,
        );
        continue;
      }
      floorSource = { file: cached };
    }
    const reps = opts.repetitions[sc.size];
    const handlerWall: number[] = [];
    const floorWall: number[] = [];
    const hb: Array<Record<HandlerSlice, number>> = [];
    const fb: Array<Record<FloorSlice, number>> = [];
    const s3Counts: number[] = [];
    let s3Log: ColdScenarioResult['handlerS3Log'] = [];
    let sameAnswer = true;
    for (let r = 0; r < reps; r++) {
      let diskDir = '';
      if (sc.disk === 'empty') diskDir = mkdtempSync(join(specDir, 'disk-'));
      if (sc.disk === 'filled') diskDir = filledDir!;
      const h = messageOf(
        await handlerRun(variant.ticker, diskDir, undefined, sc.warmModels ? variant.model : undefined),
        'cold',
        `${sc.id}: handler`,
      );
      const f = messageOf(await floorRun(floorSource, sc.file), 'cold', `${sc.id}: floor`);
      if (sc.disk === 'empty') rmSync(diskDir, { recursive: true, force: true });
      handlerWall.push(h.atMs);
      floorWall.push(f.atMs);
      hb.push(handlerBreakdown(h, variant.key));
      fb.push(floorBreakdown(f));
      const reqs = h.requests as Array<{ method: string; path: string; start: number; end: number; bytes: number }>;
      s3Counts.push(reqs.length);
      if (r === 0)
        s3Log = reqs.map((q) => ({
          method: q.method,
          path: decodeURIComponent(q.path.split('?')[0]),
          ms: q.end - q.start,
          bytes: q.bytes,
        }));
      const strategy = (h.answer as { strategy: string }).strategy;
      if (strategy !== classLabels[argmax(f.probabilities as number[])]) sameAnswer = false;
    }
    const handler = summarize(handlerWall);
    const floor = summarize(floorWall);
    results.push({
      ...sc,
      handler,
      floor,
      ratio: handler.median / floor.median,
      deltaMs: handler.median - floor.median,
      handlerBreakdown: medianOf(hb, HANDLER_SLICES),
      floorBreakdown: medianOf(fb, FLOOR_SLICES),
      handlerS3Requests: summarize(s3Counts).median,
      handlerS3Log: s3Log,
      sameAnswer,
    });
    if (filledDir) rmSync(filledDir, { recursive: true, force: true });
    opts.log(
      `cold start ${sc.id}: handler median ${handler.median.toFixed(0)} ms, floor ${floor.median.toFixed(0)} ms (${(handler.median / floor.median).toFixed(2)}×, n=${reps})`,
    );
  }

  const warm: WarmResult[] = [];
  for (const size of opts.warm ? (Object.keys(bucket.sizes) as SizeName[]) : []) {
    const variant = bucket.sizes[size].variants['model.onnx'];
    const h = messageOf(await handlerRun(variant.ticker, '', opts.warm), 'warm', `warm ${size}: handler`);
    const silent = messageOf(
      await handlerRun(variant.ticker, '', opts.warm, undefined, 'SILENT'),
      'warm',
      `warm ${size}: handler, LOG_LEVEL=SILENT`,
    );
    const f = messageOf(
      await floorRun({ url: `${bucket.endpoint}/${bucket.bucket}/${variant.key}` }, 'model.onnx', opts.warm),
      'warm',
      `warm ${size}: bare`,
    );
    const handler = summarize(h.samples as number[]);
    const bare = summarize(f.samples as number[]);
    if ((h.s3Requests as number) > 0)
      notes.push(
        `warm ${size}: the handler sent ${h.s3Requests} S3 requests during ${opts.warm!.count + opts.warm!.warmup} warm invocations (pointer revalidation)`,
      );
    warm.push({
      size,
      handler,
      handlerSilent: summarize(silent.samples as number[]),
      bare,
      overheadP50Ms: handler.median - bare.median,
      overheadP99Ms: handler.p99 - bare.p99,
    });
    opts.log(
      `warm ${size}: handler p50 ${handler.median.toFixed(3)} ms p99 ${handler.p99.toFixed(3)} ms; bare session.run p50 ${bare.median.toFixed(3)} ms p99 ${bare.p99.toFixed(3)} ms`,
    );
  }
  rmSync(specDir, { recursive: true, force: true });
  return { scenarios: results, warm, notes };
}

const HANDLER_SLICE_LABELS: Record<HandlerSlice, string> = {
  processStart: 'process start (Node bootstrap)',
  moduleLoadAndInit: 'import handler module (load + module-scope init)',
  s3Metadata: 'S3: registry, pointer, feature names (not overlapped)',
  modelFetch: 'S3: model GET',
  diskRead: 'disk cache read + verify',
  checksum: 'sha256 of the model',
  decompress: 'decompress (.br / .gz)',
  ortImport: 'import onnxruntime-node',
  sessionCreate: 'onnxruntime session creation',
  probe: 'probe run (load-time check)',
  inference: 'inference (session.run)',
  beforeFirstS3: 'invocation → first S3 request (integration, GraphQL parse/validate, resolver, SDK request set-up)',
  otherDuringLoad: 'other work between S3 requests and the session (routing, parsing, SDK)',
  afterInference: 'after inference (answer objects, GraphQL execution, JSON)',
  spawnAndPipe: 'fork/exec + stdout pipe',
};

const FLOOR_SLICE_LABELS: Record<FloorSlice, string> = {
  processStart: 'process start (Node bootstrap)',
  fetch: 'GET model bytes (node:http) / read file',
  ortImportNotOverlapped: 'require onnxruntime-node (beyond the GET)',
  decompress: 'decompress (.br / .gz)',
  sessionCreate: 'onnxruntime session creation',
  inference: 'inference (session.run)',
  other: 'other',
  spawnAndPipe: 'fork/exec + stdout pipe',
};

export function scenarioLabel(s: { size: string; file: string; disk: string; warmModels?: boolean }): string {
  const disk = s.disk === 'off' ? 'no disk cache' : s.disk === 'empty' ? 'empty disk cache' : 'filled disk cache';
  return `${s.size}, ${s.file}, ${disk}${s.warmModels ? ', WARM_MODELS' : ''}`;
}

/** Section 1: cold start to first prediction, with the handler's and the floor's breakdown. */
export function renderColdStart(scenarios: ColdScenarioResult[]): string {
  const out: string[] = [];
  out.push('## 1. Cold start to first prediction (fresh process → answered `predict`)');
  out.push('');
  out.push(
    table(
      ['Scenario', 'n', 'Modelgraph p50', 'p99', 'spread', 'Floor p50', 'Floor p99', 'Floor spread', 'Ratio', 'Δ p50'],
      scenarios.map((s) => [
        `${scenarioLabel(s)}${s.headline ? ' **(goal)**' : ''}`,
        String(s.handler.n),
        ms(s.handler.median),
        ms(s.handler.p99),
        spread(s.handler),
        ms(s.floor.median),
        ms(s.floor.p99),
        spread(s.floor),
        fmtRatio(s.ratio),
        `+${ms(s.deltaMs)}`,
      ]),
    ),
  );
  out.push('');
  out.push(
    "Where the handler's time goes (medians; exclusive slices — overlapping work is counted once, under the first matching row):",
  );
  out.push('');
  const scen = scenarios;
  /** One column per scenario, one row per slice, then the total of the slices. */
  const breakdownTable = <K extends string>(
    labels: Record<K, string>,
    of: (s: (typeof scen)[number]) => Record<K, number>,
    extraRows: string[][] = [],
  ) => {
    const keys = Object.keys(labels) as K[];
    return table(
      ['Slice', ...scen.map((s) => scenarioLabel(s).replace(', ', ' ').replace('disk cache', 'disk'))],
      [
        ...keys.map((k) => [labels[k], ...scen.map((s) => ms(of(s)[k]))]),
        ['**total (p50 of sums)**', ...scen.map((s) => ms(keys.reduce((a, k) => a + of(s)[k], 0)))],
        ...extraRows,
      ],
    );
  };
  out.push(
    breakdownTable(HANDLER_SLICE_LABELS as Record<HandlerSlice, string>, (s) => s.handlerBreakdown, [
      ['S3 requests before the answer', ...scen.map((s) => String(s.handlerS3Requests))],
    ]),
  );
  out.push('');
  out.push("The floor's time (medians):");
  out.push('');
  out.push(breakdownTable(FLOOR_SLICE_LABELS as Record<FloorSlice, string>, (s) => s.floorBreakdown));
  const first = scen.find((s) => s.headline) ?? scen[0];
  if (first) {
    out.push('');
    out.push(
      `S3 requests of one cold handler run (${scenarioLabel(first)}), in order: ${first.handlerS3Log.map((q) => `${q.method} ${q.path.split('/').slice(-3).join('/')} (${n1(q.ms)} ms)`).join(', ')}.`,
    );
  }
  out.push('');
  return out.join('\n');
}

/** Section 2: warm single prediction through the handler vs bare session.run. */
export function renderWarm(warm: WarmResult[]): string {
  const out: string[] = [];
  out.push('## 2. Warm single prediction');
  out.push('');
  out.push(
    table(
      [
        'Model',
        'n',
        'Handler p50',
        'Handler p99',
        'Bare session.run p50',
        'Bare p99',
        'Overhead p50',
        'Overhead p99',
        'Handler p50, LOG_LEVEL=SILENT',
      ],
      warm.map((w) => [
        w.size,
        String(w.handler.n),
        ms(w.handler.median),
        ms(w.handler.p99),
        ms(w.bare.median),
        ms(w.bare.p99),
        ms(w.overheadP50Ms),
        ms(w.overheadP99Ms),
        ms(w.handlerSilent.median),
      ]),
    ),
  );
  out.push('');
  out.push(
    'Handler = `await handler(apiGatewayV2Event, context)` in the process that served the cold start (event body JSON → GraphQL → JSON result, LOG_LEVEL=INFO as template.yaml sets it: a log line and an EMF metrics line per invocation, written to a pipe); bare = `session.run` of one row (new input tensor each time) in a fresh process with the same session options.',
  );
  out.push('');
  return out.join('\n');
}
