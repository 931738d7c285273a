/**
 * Section 8: evaluation of a version on a Parquet dataset (src/evaluation/).
 *
 *  - Rows/s of an in-process evaluation (no comparison, one chunk at a time:
 *    ranged GETs of the row group from the embedded S3 server, hyparquet
 *    decoding, the feature matrix, session.run, the tally, the write-once
 *    chunk and result documents) against a bare session.run over the same
 *    rows in chunks of the same size, same session options, in the same run.
 *    Goal ≥ 80 %, checked below.
 *  - A 1,000,000-row dataset (100,000-row row groups) evaluated end to end
 *    against production (two models per row) in a child process
 *    (bench/children/evaluationChild.ts), with the wall time and its peak RSS.
 *  - A projection of the wall time on AWS for N chunks in parallel, from the
 *    measured per-chunk time: a projection, not a measurement.
 *
 * Runs alone: node --openssl-legacy-provider --import tsx bench/sections/evaluation.ts [--smoke]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { buildTreeEnsembleClassifier } from '../../src/demo/treeEnsemble';
import { planChunks } from '../../src/evaluation/chunkScoring';
import { pushDataset } from '../../src/evaluation/datasets';
import { Evaluations } from '../../src/evaluation/evaluations';
import { onnxRuntime } from '../../src/inference/onnxRuntime';
import { startLocalServer, type LocalServer } from '../../src/local/server';
import { cleanEnv, messageOf, runChild } from '../lib/child';
import { REPO_ROOT } from '../lib/lambdaTarget';
import type { Goal } from '../lib/report';

const FEATURES = Array.from({ length: 20 }, (_, i) => `f${String(i).padStart(2, '0')}`);
const LABELS = ['IRON_CONDOR', 'BULL_CALL_SPREAD', 'BEAR_PUT_SPREAD', 'NO_TRADE'];
const MODEL = 'universal/eval_bench';

export interface EvaluationBenchPlan {
  /** Rows of the throughput comparison, and its row-group size. */
  ratioRows: number;
  /** Rows of the end-to-end run (1,000,000 in the full run). */
  endToEndRows: number;
  rowGroupRows: number;
  /** The projection: N chunks in parallel. */
  parallel: number[];
}

export const FULL_EVALUATION: EvaluationBenchPlan = {
  ratioRows: 300_000,
  endToEndRows: 1_000_000,
  rowGroupRows: 100_000,
  parallel: [1, 10, 100],
};
export const SMOKE_EVALUATION: EvaluationBenchPlan = {
  ratioRows: 20_000,
  endToEndRows: 50_000,
  rowGroupRows: 10_000,
  parallel: [1, 10, 100],
};

export interface EvaluationBenchResult {
  model: { features: number; labels: number; trees: number; depth: number; modelBytes: number };
  ratio: {
    rows: number;
    chunks: number;
    /** EVALUATION_CONCURRENCY=1. */
    sequentialMs: number;
    sequentialRatio: number;
    /** The same rows with REQUIRED (non-nullable) Parquet columns, EVALUATION_CONCURRENCY=2. */
    requiredColumnsMs: number;
    requiredColumnsRatio: number;
    /** EVALUATION_CONCURRENCY=2 (the default). */
    inProcessMs: number;
    bareMs: number;
    inProcessRowsPerSec: number;
    bareRowsPerSec: number;
    ratio: number;
  };
  endToEnd: {
    rows: number;
    chunks: number;
    datasetBytes: number;
    datasetWriteMs: number;
    pushMs: number;
    evaluateMs: number;
    reduceMs: number;
    rowsPerSec: number;
    chunkMsMean: number;
    chunkMsMax: number;
    rssBaselineMB: number;
    rssPeakMB: number;
    accuracy: number;
    agreement: number;
  };
  projection: Array<{ datasetRows: number; chunks: number; parallel: number; projectedSec: number }>;
  projectionAssumptions: string[];
  goal: Goal;
}

function rowsOf(n: number, seed: number) {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const columns = FEATURES.map(() => {
    const c = new Float32Array(n);
    for (let i = 0; i < n; i++) c[i] = rand() * 2 - 1;
    return c;
  });
  const labels = Array.from({ length: n }, () => LABELS[Math.floor(rand() * LABELS.length)]);
  const start = Date.UTC(2023, 0, 1);
  const timestamps = Array.from({ length: n }, (_, i) => new Date(start + Math.floor((i / n) * 730) * 86_400_000));
  const pnl = Float64Array.from({ length: n }, () => rand() * 200 - 100);
  return { columns, labels, timestamps, pnl };
}

/** The rows as Parquet; `tag` goes into the file's key-value metadata (same rows, another sha256). */
function parquet(
  n: number,
  rowGroupRows: number,
  seed: number,
  tag = '',
  known?: ReturnType<typeof rowsOf>,
  /** OPTIONAL columns, as pandas/pyarrow write them (hyparquet decodes REQUIRED ones ~10× faster). */
  nullable = true,
): { bytes: Buffer; rows: ReturnType<typeof rowsOf> } {
  const rows = known ?? rowsOf(n, seed);
  const bytes = Buffer.from(
    parquetWriteBuffer({
      columnData: [
        ...FEATURES.map((name, c) => ({ name, data: rows.columns[c], type: 'FLOAT' as const, nullable })),
        { name: 'label', data: rows.labels, type: 'STRING' as const, nullable },
        { name: 'timestamp', data: rows.timestamps, type: 'TIMESTAMP' as const },
        { name: 'pnl', data: rows.pnl, type: 'DOUBLE' as const },
      ],
      rowGroupSize: rowGroupRows,
      kvMetadata: [{ key: 'modelgraph.bench', value: tag }],
    }),
  );
  return { bytes, rows };
}

async function graphql(server: LocalServer, query: string, variables: Record<string, unknown>) {
  const res = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.writeToken}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function publish(server: LocalServer, version: string, bytes: Uint8Array): Promise<void> {
  const store = server.runtime.store;
  const prefix = `${MODEL}/archive/${version}/`;
  await store.put(`${prefix}model.onnx`, Buffer.from(bytes));
  await store.put(`${prefix}feature_names.json`, JSON.stringify(FEATURES));
  await store.put(`${prefix}metadata.json`, JSON.stringify({ strategies: LABELS }));
  await graphql(
    server,
    `
      mutation ($m: ID!, $v: String!) {
        registerVersion(model: $m, version: $v) {
          version
        }
      }
    `,
    {
      m: MODEL,
      v: version,
    },
  );
}

const MB = 1024 * 1024;

export async function runEvaluationBench(
  plan: EvaluationBenchPlan,
  log: (line: string) => void,
): Promise<EvaluationBenchResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'modelgraph-bench-eval-'));
  const trees = 100;
  const depth = 6;
  const server = await startLocalServer({
    port: 0,
    dataDir,
    seed: false,
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'ERROR',
      MODELGRAPH_WRITE_TOKEN: 'bench-write-token-0123456789',
      EVENTS_CATCHUP_SECONDS: '0',
      EVALUATION_CHUNK_ROWS: String(plan.rowGroupRows),
      EVALUATION_CONCURRENCY: '1',
    },
  });
  try {
    const { runtime } = server;
    const deps = { store: runtime.store, registry: runtime.registry, models: runtime.models };
    const v1 = buildTreeEnsembleClassifier({ featureNames: FEATURES, labels: LABELS, trees, depth, seed: 101 });
    const v2 = buildTreeEnsembleClassifier({ featureNames: FEATURES, labels: LABELS, trees, depth, seed: 102 });
    await publish(server, 'v1', v1);
    await publish(server, 'v2', v2);
    await graphql(server, `mutation { promote(model: "${MODEL}", version: "v1", reason: "bench") { toVersion } }`, {});
    log(`evaluation: model ${FEATURES.length} features, ${trees} trees of depth ${depth} (${v2.byteLength} bytes)`);

    // 1. In-process rows/s against bare session.run on the same rows, no comparison: one chunk at a
    // time, and with the default pool of EVALUATION_CONCURRENCY=2 (a chunk's Parquet decoding, on the
    // JavaScript thread, overlaps another's session.run, on onnxruntime's). Same rows, another file
    // (key-value metadata) per run, so neither is answered from the other's result.
    const small = parquet(plan.ratioRows, plan.rowGroupRows, 1, 'c1');
    const smallAgain = parquet(plan.ratioRows, plan.rowGroupRows, 1, 'c2', small.rows);
    await pushDataset(runtime.store, { name: 'bench-ratio-1', bytes: small.bytes, by: 'bench' });
    await pushDataset(runtime.store, { name: 'bench-ratio-2', bytes: smallAgain.bytes, by: 'bench' });
    const required = parquet(plan.ratioRows, plan.rowGroupRows, 1, 'c3', small.rows, false);
    await pushDataset(runtime.store, { name: 'bench-ratio-3', bytes: required.bytes, by: 'bench' });
    await runtime.models.get(MODEL, 'v2', await runtime.registry.versionMetadata(MODEL, 'v2')); // loaded, as for bare
    const timedRun = async (concurrency: number, dataset: string) => {
      const evaluations = new Evaluations(deps, { chunkRows: plan.rowGroupRows, concurrency });
      const t0 = performance.now();
      const view = await evaluations.start({ model: MODEL, version: 'v2', dataset, compareWith: 'NONE', by: 'bench' });
      await evaluations.idle();
      const ms = performance.now() - t0;
      const done = await evaluations.get(view.id);
      if (done?.status !== 'SUCCEEDED') throw new Error(`bench evaluation ${done?.status}: ${done?.error}`);
      return ms;
    };
    const sequentialMs = await timedRun(1, 'bench-ratio-1');
    const inProcessMs = await timedRun(2, 'bench-ratio-2');
    const requiredColumnsMs = await timedRun(2, 'bench-ratio-3');
    const ort = await onnxRuntime();
    const session = await ort.InferenceSession.create(v2, {
      intraOpNumThreads: runtime.config.ORT_INTRA_OP_THREADS,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: runtime.config.ORT_GRAPH_OPTIMIZATION,
    });
    const width = FEATURES.length;
    const chunks = planChunks({ rowGroups: [{ rowStart: 0, rows: plan.ratioRows }] }, plan.rowGroupRows);
    const inputs = chunks.map((c) => {
      const input = new Float32Array((c.rowEnd - c.rowStart) * width);
      for (let r = c.rowStart; r < c.rowEnd; r++)
        for (let k = 0; k < width; k++) input[(r - c.rowStart) * width + k] = small.rows.columns[k][r];
      return input;
    });
    let t = performance.now();
    for (const [i, c] of chunks.entries()) {
      await session.run({
        [session.inputNames[0]]: new ort.Tensor('float32', inputs[i], [c.rowEnd - c.rowStart, width]),
      });
    }
    const bareMs = performance.now() - t;
    await session.release();
    const inProcessRowsPerSec = plan.ratioRows / (inProcessMs / 1000);
    const bareRowsPerSec = plan.ratioRows / (bareMs / 1000);
    const ratio = inProcessRowsPerSec / bareRowsPerSec;
    const sequentialRatio = bareMs / sequentialMs;
    const requiredColumnsRatio = bareMs / requiredColumnsMs;
    log(
      `evaluation: ${plan.ratioRows} rows in-process ${inProcessMs.toFixed(0)} ms (one chunk at a time ${sequentialMs.toFixed(0)} ms) vs bare session.run ${bareMs.toFixed(0)} ms = ${(ratio * 100).toFixed(0)}% (${(sequentialRatio * 100).toFixed(0)}%)`,
    );

    // 2. End to end: the dataset written, pushed, evaluated against production, with peak RSS.
    t = performance.now();
    const big = parquet(plan.endToEndRows, plan.rowGroupRows, 2);
    const datasetWriteMs = performance.now() - t;
    const datasetBytes = big.bytes.byteLength;
    t = performance.now();
    await pushDataset(runtime.store, { name: 'bench-1m', bytes: big.bytes, by: 'bench' });
    const pushMs = performance.now() - t;
    (big as { rows?: unknown }).rows = undefined;
    // In a process of its own: its peak RSS is the evaluation's, not this process's (which made the dataset).
    const child = await runChild({
      script: join(REPO_ROOT, 'bench/children/evaluationChild.ts'),
      execArgv: ['--openssl-legacy-provider', '--import', 'tsx'],
      cwd: REPO_ROOT,
      env: cleanEnv({
        MODEL_BUCKET: runtime.bucket,
        S3_ENDPOINT: server.s3!.endpoint,
        EVAL_MODEL: MODEL,
        EVAL_VERSION: 'v2',
        EVAL_DATASET: 'bench-1m',
        EVALUATION_CHUNK_ROWS: String(plan.rowGroupRows),
      }),
      timeoutMs: 15 * 60_000,
    });
    const m = messageOf(child, 'evaluation', 'evaluation child') as unknown as {
      evaluateMs: number;
      chunkMs: number[];
      reduceMs: number;
      rssAtStartMB: number;
      maxRssMB: number;
      accuracy: number;
      agreement: number;
      chunks: number;
    };
    const { evaluateMs, chunkMs, reduceMs } = m;
    const endToEnd = {
      rows: plan.endToEndRows,
      chunks: m.chunks,
      datasetBytes,
      datasetWriteMs,
      pushMs,
      evaluateMs,
      reduceMs,
      rowsPerSec: plan.endToEndRows / (evaluateMs / 1000),
      chunkMsMean: chunkMs.reduce((a, b) => a + b, 0) / chunkMs.length,
      chunkMsMax: Math.max(...chunkMs),
      rssBaselineMB: m.rssAtStartMB,
      rssPeakMB: m.maxRssMB,
      accuracy: m.accuracy,
      agreement: m.agreement,
    };
    log(
      `evaluation: ${plan.endToEndRows} rows end to end ${(evaluateMs / 1000).toFixed(1)} s (${endToEnd.chunks} chunks, ` +
        `${endToEnd.chunkMsMean.toFixed(0)} ms per chunk), peak RSS ${endToEnd.rssPeakMB.toFixed(0)} MB`,
    );

    // 3. Projection for AWS: N chunks at once, each as long as measured here, plus fixed costs.
    const coldStartSec = 1.0;
    const mapItemSec = 0.3;
    const projection = [plan.endToEndRows, plan.endToEndRows * 10].flatMap((datasetRows) => {
      const n = Math.ceil(datasetRows / plan.rowGroupRows);
      return plan.parallel.map((parallel) => ({
        datasetRows,
        chunks: n,
        parallel,
        projectedSec:
          coldStartSec + Math.ceil(n / parallel) * (endToEnd.chunkMsMean / 1000 + mapItemSec) + reduceMs / 1000 + 1,
      }));
    });
    const goal: Goal = {
      name: `evaluation rows/s in-process vs bare session.run (${plan.ratioRows.toLocaleString('en-US')} rows)`,
      target: '≥ 80% of bare session.run',
      measured: `${Math.round(inProcessRowsPerSec).toLocaleString('en-US')} vs ${Math.round(bareRowsPerSec).toLocaleString('en-US')} rows/s = ${(ratio * 100).toFixed(0)}%`,
      met: ratio >= 0.8,
    };
    return {
      model: { features: FEATURES.length, labels: LABELS.length, trees, depth, modelBytes: v2.byteLength },
      ratio: {
        rows: plan.ratioRows,
        chunks: chunks.length,
        sequentialMs,
        sequentialRatio,
        requiredColumnsMs,
        requiredColumnsRatio,
        inProcessMs,
        bareMs,
        inProcessRowsPerSec,
        bareRowsPerSec,
        ratio,
      },
      endToEnd,
      projection,
      projectionAssumptions: [
        'A PROJECTION, not a measurement: AWS was not used.',
        `each chunk takes the mean chunk time measured here (${endToEnd.chunkMsMean.toFixed(0)} ms for ${plan.rowGroupRows.toLocaleString('en-US')} rows, candidate and production), i.e. a Lambda with one full vCPU (1,769 MB) as fast as one core of this machine`,
        `+ ${coldStartSec} s for the first wave's cold start (docs/benchmarks.md measures ≈ 0.3 s to a first prediction, plus the dataset footer and two model loads)`,
        `+ ${mapItemSec} s of Distributed Map overhead per wave of items, + the reduce measured here, + 1 s to start the execution`,
      ],
      goal,
    };
  } finally {
    await server.runtime.evaluations.idle();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function renderEvaluationMarkdown(r: EvaluationBenchResult): string {
  const e = r.endToEnd;
  const lines = [
    '## 8. Evaluation on a Parquet dataset',
    '',
    `Model: ${r.model.features} features, ${r.model.trees} trees of depth ${r.model.depth}, ${r.model.labels} labels (${r.model.modelBytes.toLocaleString('en-US')} bytes).`,
    '',
    '| | rows | time | rows/s | ratio |',
    '|---|---|---|---|---|',
    `| in-process evaluation (no comparison, ${r.ratio.chunks} chunks, EVALUATION_CONCURRENCY=2, the default) | ${r.ratio.rows.toLocaleString('en-US')} | ${r.ratio.inProcessMs.toFixed(0)} ms | ${Math.round(r.ratio.inProcessRowsPerSec).toLocaleString('en-US')} | ${(r.ratio.ratio * 100).toFixed(0)}% |`,
    `| the same, one chunk at a time (EVALUATION_CONCURRENCY=1) | ${r.ratio.rows.toLocaleString('en-US')} | ${r.ratio.sequentialMs.toFixed(0)} ms | ${Math.round(r.ratio.rows / (r.ratio.sequentialMs / 1000)).toLocaleString('en-US')} | ${(r.ratio.sequentialRatio * 100).toFixed(0)}% |`,
    `| the same rows with REQUIRED columns (pandas writes OPTIONAL ones; hyparquet decodes these faster) | ${r.ratio.rows.toLocaleString('en-US')} | ${r.ratio.requiredColumnsMs.toFixed(0)} ms | ${Math.round(r.ratio.rows / (r.ratio.requiredColumnsMs / 1000)).toLocaleString('en-US')} | ${(r.ratio.requiredColumnsRatio * 100).toFixed(0)}% |`,
    `| bare session.run, same rows and chunks | ${r.ratio.rows.toLocaleString('en-US')} | ${r.ratio.bareMs.toFixed(0)} ms | ${Math.round(r.ratio.bareRowsPerSec).toLocaleString('en-US')} | 100% |`,
    '',
    `Goal ≥ 80%: ${r.goal.met ? 'met' : 'MISSED'} (${r.goal.measured}).`,
    '',
    `End to end, ${e.rows.toLocaleString('en-US')} rows (${e.chunks} chunks, against production: two models per row): ` +
      `${(e.evaluateMs / 1000).toFixed(1)} s (${Math.round(e.rowsPerSec).toLocaleString('en-US')} rows/s), ` +
      `${e.chunkMsMean.toFixed(0)} ms per chunk (max ${e.chunkMsMax.toFixed(0)}), reduce ${e.reduceMs.toFixed(0)} ms; ` +
      `peak RSS ${e.rssPeakMB.toFixed(0)} MB in a process of its own (${e.rssBaselineMB.toFixed(0)} MB after its imports). ` +
      `Dataset ${(e.datasetBytes / MB).toFixed(1)} MB of Parquet, written in ${(e.datasetWriteMs / 1000).toFixed(1)} s, pushed in ${(e.pushMs / 1000).toFixed(1)} s.`,
    '',
    'Projected wall time on AWS (Step Functions Distributed Map, N chunks at once) — a projection:',
    '',
    '| dataset rows | chunks | N parallel | projected |',
    '|---|---|---|---|',
    ...r.projection.map(
      (p) =>
        `| ${p.datasetRows.toLocaleString('en-US')} | ${p.chunks} | ${p.parallel} | ≈ ${p.projectedSec.toFixed(0)} s |`,
    ),
    '',
    ...r.projectionAssumptions.map((a) => `- ${a}`),
  ];
  return `${lines.join('\n')}\n`;
}

// Run alone: node --openssl-legacy-provider --import tsx bench/sections/evaluation.ts [--smoke]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const plan = process.argv.includes('--smoke') ? SMOKE_EVALUATION : FULL_EVALUATION;
  runEvaluationBench(plan, (l) => process.stdout.write(`· ${l}\n`))
    .then((r) => {
      process.stdout.write(`\n${renderEvaluationMarkdown(r)}`);
      process.exitCode = r.goal.met ? 0 : 3;
    })
    .catch((err) => {
      process.stderr.write(`evaluation bench failed: ${err instanceof Error ? (err.stack ?? err.message) : err}\n`);
      process.exit(1);
    });
}
