/**
 * Bench child (section 8): evaluates one version on one dataset in a process of
 * its own, so its peak RSS is the evaluation's and not the parent's (which
 * generated the dataset). Talks to the parent's embedded S3 server; prints one
 * `@@MGBENCH {json}` line with the timings and process.resourceUsage().maxRSS.
 *
 * env: S3_ENDPOINT, MODEL_BUCKET, EVAL_MODEL, EVAL_VERSION, EVAL_DATASET, EVALUATION_CHUNK_ROWS
 */
import { loadConfig } from '../../src/config';
import { reduceEvaluation, scoreChunk } from '../../src/evaluation/chunkScoring';
import { Evaluations, readRun } from '../../src/evaluation/evaluations';
import { requireDataset } from '../../src/evaluation/datasets';
import { evaluationRunKey } from '../../src/evaluation/layout';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { createRuntime } from '../../src/runtime';
import { createS3Client } from '../../src/storage/s3Client';

const env = process.env;
const config = loadConfig({ ...env, LOG_LEVEL: 'ERROR', NODE_ENV: 'production' });
const s3Client = createS3Client({
  region: config.AWS_REGION,
  endpoint: env.S3_ENDPOINT,
  forcePathStyle: true,
  credentials: EMBEDDED_S3_CREDENTIALS,
  maxAttempts: config.S3_MAX_ATTEMPTS,
  connectionTimeoutMs: config.S3_CONNECT_TIMEOUT_MS,
  requestTimeoutMs: config.S3_REQUEST_TIMEOUT_MS,
});
const runtime = createRuntime(config, { s3Client });
const deps = { store: runtime.store, registry: runtime.registry, models: runtime.models };
const model = env.EVAL_MODEL!;
const version = env.EVAL_VERSION!;
const rssAtStartMB = process.memoryUsage().rss / 1024 / 1024;

// The in-process executor's steps, one chunk at a time so each is timed.
const planner = new Evaluations(deps, {
  chunkRows: config.EVALUATION_CHUNK_ROWS,
  executor: { kind: 'IN_PROCESS', launch: async () => null },
});
const started = performance.now();
await planner.start({ model, version, dataset: env.EVAL_DATASET!, compareWith: 'PRODUCTION', by: 'bench' });
const manifest = await requireDataset(runtime.store, env.EVAL_DATASET!);
const run = (await readRun(runtime.store, evaluationRunKey(model, version, manifest.sha256)))!.run;
const chunkMs: number[] = [];
for (const chunk of run.chunks) {
  const t = performance.now();
  await scoreChunk(deps, run, chunk.index);
  chunkMs.push(performance.now() - t);
}
const r = performance.now();
const doc = await reduceEvaluation(deps, run);
const reduceMs = performance.now() - r;
const evaluateMs = performance.now() - started;
process.stdout.write(
  `@@MGBENCH ${JSON.stringify({
    kind: 'evaluation',
    evaluateMs,
    chunkMs,
    reduceMs,
    rssAtStartMB,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    accuracy: doc.metrics.accuracy ?? 0,
    agreement: doc.metrics.agreement?.rate ?? 0,
    chunks: run.chunks.length,
  })}\n`,
);
runtime.models.clear();
s3Client.destroy();
