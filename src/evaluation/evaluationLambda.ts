/**
 * AWS Lambda entry of evaluation chunks (template.yaml: EvaluationFunction,
 * invoked only by EvaluationStateMachine). Built from the same sources into
 * the same function folder as the API (dist/lambda/function/evaluate.mjs,
 * handler `evaluate.handler`), with the onnxruntime layer; no GraphQL.
 *
 * The state machine's Distributed Map invokes `{ action: 'chunk', run, chunk }`
 * once per chunk of the plan (retrying a failed invocation), then
 * `{ action: 'reduce', run }`; its Catch invokes `{ action: 'fail', run, error }`.
 * Everything else is read from the run document the API wrote: the event names
 * only which run and which chunk.
 */
import type { Context } from 'aws-lambda';
import { loadConfig } from '../config';
import { BadUserInputError } from '../errors';
import { ArtifactSource } from '../inference/artifactSource';
import { DiskArtifactCache } from '../inference/diskCache';
import { ModelCache } from '../inference/modelCache';
import { logger } from '../observability/logger';
import { parseModelId, parseVersion } from '../registry/identifiers';
import { openBucket } from '../registry/openBucket';
import { reduceEvaluation, scoreChunk, type ScoringDeps } from './chunkScoring';
import { markRunFailed, readRun } from './evaluations';
import type { EvaluationTask } from './stepFunctionsExecutor';

const RUN_KEY = /^(.+)\/evaluations\/([^/]+)\/([0-9a-f]{64})\/run\.json$/;

/** A run key as the API writes it, and nothing else (the event is input from outside this function). */
export function parseRunKey(key: unknown): string {
  const m = typeof key === 'string' ? RUN_KEY.exec(key) : null;
  if (!m) throw new BadUserInputError('run must be the key of an evaluation run document');
  parseModelId(m[1]);
  parseVersion(m[2]);
  return key as string;
}

export type EvaluationTaskResult =
  | { action: 'chunk'; chunk: number; outcome: 'written' | 'existed' }
  | { action: 'reduce'; id: string; rows: number; accuracy: number | null }
  | { action: 'fail'; recorded: true };

/** The handler over given dependencies (tests pass the embedded S3 server's). */
export function createEvaluationTaskHandler(deps: ScoringDeps) {
  return async (event: EvaluationTask): Promise<EvaluationTaskResult> => {
    const runKey = parseRunKey(event?.run);
    if (event.action === 'fail') {
      await markRunFailed(deps.store, runKey, describeError(event.error));
      return { action: 'fail', recorded: true };
    }
    const got = await readRun(deps.store, runKey);
    if (!got) throw new BadUserInputError(`no evaluation run at ${runKey}`);
    if (event.action === 'chunk') {
      if (!Number.isInteger(event.chunk)) throw new BadUserInputError('chunk must be an integer');
      return { action: 'chunk', chunk: event.chunk, outcome: await scoreChunk(deps, got.run, event.chunk) };
    }
    if (event.action === 'reduce') {
      const doc = await reduceEvaluation(deps, got.run);
      return { action: 'reduce', id: doc.id, rows: doc.metrics.rows, accuracy: doc.metrics.accuracy };
    }
    throw new BadUserInputError('action must be chunk, reduce or fail');
  };
}

/** Step Functions' Catch passes `{ Error, Cause }`: keep what a person needs. */
function describeError(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { Error?: unknown; Cause?: unknown };
    let cause = typeof e.Cause === 'string' ? e.Cause : '';
    try {
      const parsed = JSON.parse(cause) as { errorMessage?: string };
      if (parsed.errorMessage) cause = parsed.errorMessage;
    } catch {
      // not JSON: keep it as it is
    }
    return [e.Error, cause].filter(Boolean).join(': ') || 'the evaluation failed';
  }
  return typeof error === 'string' ? error : 'the evaluation failed';
}

function start(env: Record<string, string | undefined>): ReturnType<typeof createEvaluationTaskHandler> {
  const config = loadConfig(env);
  const { store, registry } = openBucket(config);

  const disk = config.DISK_CACHE_DIR
    ? new DiskArtifactCache({ dir: config.DISK_CACHE_DIR, maxBytes: config.DISK_CACHE_MAX_MB * 1024 * 1024 })
    : undefined;
  const models = new ModelCache(new ArtifactSource(store, disk), {
    maxBytes: config.MODEL_CACHE_MAX_MB * 1024 * 1024,
    session: { intraOpNumThreads: config.ORT_INTRA_OP_THREADS, graphOptimizationLevel: config.ORT_GRAPH_OPTIMIZATION },
  });
  return createEvaluationTaskHandler({ store, registry, models });
}

let run: ReturnType<typeof createEvaluationTaskHandler> | undefined;

export const handler = async (event: EvaluationTask, context?: Context): Promise<EvaluationTaskResult> => {
  if (context) logger.addContext(context);
  run ??= start(process.env);
  const result = await run(event);
  logger.info('evaluation task', { ...result });
  return result;
};
