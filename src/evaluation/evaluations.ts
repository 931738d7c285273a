import { BadUserInputError, ConflictError, ModelNotDeployedError } from '../errors';
import { FEATURE_NAMES_FILE } from '../registry/bucketLayout';
import type { Stage } from '../registry/identifiers';
import { modelArtifactName, parseJsonDocument, taskOf, type VersionMetadata } from '../registry/versionMetadata';
import { PreconditionFailedError } from '../storage/errors';
import type { ObjectStore } from '../storage/objectStore';
import {
  checkDatasetFeatures,
  DEFAULT_CHUNK_ROWS,
  planChunks,
  readEvaluationDocument,
  reduceEvaluation,
  scoreChunk,
  writtenChunks,
  type ScoringDeps,
} from './chunkScoring';
import { requireDataset, type DatasetManifest } from './datasets';
import {
  evaluationId,
  parseEvaluationId,
  RunDocumentSchema,
  type ComparisonTarget,
  type EvaluatedVersion,
  type EvaluationDocument,
  type ExecutorKind,
  type RunDocument,
} from './evaluationRecords';
import { evaluationRunKey, evaluationsPrefix } from './layout';
import { modelTypeOf } from '../registry/identifiers';

export type EvaluationStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** An evaluation as clients see it: the run's state and progress, and the result once there. */
export interface EvaluationView {
  id: string;
  model: string;
  version: string;
  datasetName: string;
  datasetSha256: string;
  status: EvaluationStatus;
  chunks: number;
  chunksDone: number;
  rows: number;
  rowsScored: number;
  /** 0–1. */
  progress: number;
  executor: ExecutorKind;
  attempt: number;
  comparisonVersion: string | null;
  startedAt: string;
  startedBy: string;
  completedAt: string | null;
  error: string | null;
  result: EvaluationDocument | null;
}

/** Runs a run's chunks and its reduce somewhere: in this process, or as a Step Functions execution. */
export interface EvaluationExecutor {
  kind: ExecutorKind;
  /** Starts the work and returns at once (the execution's id, or null in-process). */
  launch(run: RunDocument, runKey: string): Promise<string | null>;
}

export interface EvaluationsOptions {
  /** Rows per chunk at most (EVALUATION_CHUNK_ROWS). */
  chunkRows?: number;
  /** In-process: chunks scored at once (EVALUATION_CONCURRENCY). */
  concurrency?: number;
  /** Attempts per chunk in-process, as the state machine's Retry (default 3). */
  chunkAttempts?: number;
  /** Another executor than in-process (Step Functions on AWS). */
  executor?: EvaluationExecutor;
  /** An in-process run whose last chunk is older than this is taken as dead and resumed by the next request (default 5 min). */
  staleAfterMs?: number;
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

export type CompareWith = Stage | 'NONE';

async function readRun(store: ObjectStore, key: string): Promise<{ run: RunDocument; etag: string } | null> {
  const got = await store.getIfExists(key);
  return got ? { run: parseJsonDocument(RunDocumentSchema, got.body, key), etag: got.etag } : null;
}

/**
 * Evaluations of versions on datasets. `start` checks everything that can be
 * checked before scoring (the version is a classifier, the dataset has its
 * features), answers a finished evaluation from its write-once document, and
 * otherwise writes the run (its chunk plan) and hands it to the executor.
 * Progress is read from the bucket (the chunk results written so far), so any
 * instance answers it, and a run that failed or whose process died resumes
 * where it stopped.
 */
export class Evaluations {
  private readonly active = new Map<string, Promise<void>>();
  private readonly executor: EvaluationExecutor;

  constructor(
    private readonly deps: ScoringDeps,
    private readonly opts: EvaluationsOptions = {},
  ) {
    this.executor = opts.executor ?? this.inProcessExecutor();
  }

  private async evaluatedVersion(
    model: string,
    metadata: VersionMetadata,
    dataset: DatasetManifest,
  ): Promise<EvaluatedVersion> {
    if (taskOf(metadata) !== 'CLASSIFICATION' || metadata.ensemble || modelTypeOf(model) === 'ENSEMBLE')
      throw new BadUserInputError(
        `${model}@${metadata.version} is not a classifier: evaluation scores classifiers (for an ensemble, evaluate its members)`,
        { model, version: metadata.version },
      );
    const featureNames = await this.deps.registry.featureNames(model, metadata);
    checkDatasetFeatures(dataset, model, metadata.version, featureNames);
    const modelFile = modelArtifactName(metadata);
    return {
      version: metadata.version,
      featureNames,
      labels: metadata.strategies ?? [],
      sha256: metadata.artifacts[modelFile]?.sha256 ?? metadata.artifacts[FEATURE_NAMES_FILE]?.sha256 ?? '',
      modelFile,
      datasetSha256: dataset.sha256,
    };
  }

  /** Starts (or resumes, or answers from cache) the evaluation of `{model}@{version}` on a dataset. */
  async start(input: {
    model: string;
    version: string;
    dataset: string;
    compareWith: CompareWith;
    by: string;
  }): Promise<EvaluationView> {
    const { model, version, by } = input;
    const { store, registry } = this.deps;
    const dataset = await requireDataset(store, input.dataset);
    const metadata = await registry.versionMetadata(model, version);
    // Checked before anything else: a wrong dataset never waits for a cache hit to be found out.
    const candidate = await this.evaluatedVersion(model, metadata, dataset);
    const done = await readEvaluationDocument(store, model, version, dataset.sha256);
    if (done) return viewOfDocument(done);

    let comparison: ComparisonTarget | null = null;
    if (input.compareWith !== 'NONE') {
      const pointer = (await registry.stagePointer(model, input.compareWith))?.value;
      if (!pointer) throw new ModelNotDeployedError(model, input.compareWith);
      const comparisonMeta = await registry.versionMetadata(model, pointer.version);
      comparison = { stage: input.compareWith, ...(await this.evaluatedVersion(model, comparisonMeta, dataset)) };
    }

    const key = evaluationRunKey(model, version, dataset.sha256);
    const now = new Date().toISOString();
    const existing = await readRun(store, key);
    if (existing) {
      const { run, etag } = existing;
      if (run.state === 'RUNNING' && !(await this.isStale(run, key))) return this.view(run);
      // A failed run, or an in-process run whose process stopped: resume it (chunks written so far stay).
      const resumed: RunDocument = { ...run, state: 'RUNNING', attempt: run.attempt + 1, updatedAt: now, error: null };
      try {
        await store.put(key, JSON.stringify(resumed, null, 2), { ifMatch: etag, contentType: 'application/json' });
      } catch (err) {
        if (err instanceof PreconditionFailedError)
          throw new ConflictError('the evaluation was resumed by another request meanwhile', { model, version });
        throw err;
      }
      return this.launch(resumed, key, etag);
    }
    const run: RunDocument = {
      id: evaluationId(model, version, dataset.sha256),
      model,
      candidate,
      comparison,
      dataset,
      chunks: planChunks(dataset, this.opts.chunkRows ?? DEFAULT_CHUNK_ROWS),
      state: 'RUNNING',
      executor: this.executor.kind,
      execution: null,
      attempt: 1,
      startedAt: now,
      startedBy: by,
      updatedAt: now,
      error: null,
    };
    try {
      await store.put(key, JSON.stringify(run, null, 2), { ifNoneMatch: '*', contentType: 'application/json' });
    } catch (err) {
      // Another request started the same evaluation a moment ago: its run is the answer.
      if (err instanceof PreconditionFailedError) return this.view((await readRun(store, key))!.run);
      throw err;
    }
    return this.launch(run, key);
  }

  private async launch(run: RunDocument, key: string, _etag?: string): Promise<EvaluationView> {
    try {
      const execution = await this.executor.launch(run, key);
      if (execution) {
        const current = await readRun(this.deps.store, key);
        if (current && current.run.execution !== execution) {
          const withExecution = { ...current.run, execution };
          await this.deps.store
            .put(key, JSON.stringify(withExecution, null, 2), {
              ifMatch: current.etag,
              contentType: 'application/json',
            })
            .catch(() => undefined);
          return this.view(withExecution);
        }
      }
    } catch (err) {
      await markRunFailed(this.deps.store, key, err);
      throw err;
    }
    return this.view(run);
  }

  /** An in-process run no process of ours is running, whose newest chunk (or start) is older than staleAfterMs. */
  private async isStale(run: RunDocument, key: string): Promise<boolean> {
    if (run.executor !== 'IN_PROCESS' || this.active.has(key)) return false;
    const chunks = await writtenChunks(this.deps.store, run);
    const last = Math.max(Date.parse(run.updatedAt), ...chunks.map((c) => c.lastModified?.getTime() ?? 0));
    return Date.now() - last > (this.opts.staleAfterMs ?? 5 * 60_000);
  }

  /** Chunks in a bounded pool (retrying each like the state machine does), then the reduce. */
  private inProcessExecutor(): EvaluationExecutor {
    return {
      kind: 'IN_PROCESS',
      launch: async (run, key) => {
        const work = this.runInProcess(run)
          .then(() => undefined)
          .catch(async (err: unknown) => {
            this.opts.onWarning?.('evaluation failed', { id: run.id, error: String(err) });
            await markRunFailed(this.deps.store, key, err).catch(() => undefined);
          })
          .finally(() => this.active.delete(key));
        this.active.set(key, work);
        return null;
      },
    };
  }

  /** Runs every chunk not yet written, then the reduce (in this process). */
  async runInProcess(run: RunDocument): Promise<EvaluationDocument> {
    const written = new Set((await writtenChunks(this.deps.store, run)).map((c) => c.index));
    const todo = run.chunks.filter((c) => !written.has(c.index));
    const attempts = this.opts.chunkAttempts ?? 3;
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const chunk = todo[next++];
        for (let attempt = 1; ; attempt++) {
          try {
            await scoreChunk(this.deps, run, chunk.index);
            break;
          } catch (err) {
            if (attempt >= attempts || err instanceof BadUserInputError) throw err;
            await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.opts.concurrency ?? 2, todo.length)) }, worker));
    return reduceEvaluation(this.deps, run);
  }

  /** Resolves when the in-process runs of this process have finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.active.size) await Promise.allSettled([...this.active.values()]);
  }

  /** An evaluation by id, or null when none was started. */
  async get(id: string): Promise<EvaluationView | null> {
    const { model, version, datasetSha256 } = parseEvaluationId(id);
    const doc = await readEvaluationDocument(this.deps.store, model, version, datasetSha256);
    if (doc) return viewOfDocument(doc);
    const got = await readRun(this.deps.store, evaluationRunKey(model, version, datasetSha256));
    return got ? this.view(got.run) : null;
  }

  /** Every evaluation of a version, finished or not, newest first. */
  async forVersion(model: string, version: string): Promise<EvaluationView[]> {
    const prefix = evaluationsPrefix(model, version);
    const keys = await this.deps.store.listKeys(prefix);
    const shas = new Set<string>();
    for (const key of keys) {
      const m = /^([0-9a-f]{64})(?:\.json|\/run\.json)$/.exec(key.slice(prefix.length));
      if (m) shas.add(m[1]);
    }
    const views = await Promise.all([...shas].map((sha) => this.get(evaluationId(model, version, sha))));
    return views.filter((v): v is EvaluationView => v !== null).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  private async view(run: RunDocument): Promise<EvaluationView> {
    const done = await writtenChunks(this.deps.store, run);
    const doneSet = new Set(done.map((c) => c.index));
    const rowsScored = run.chunks.filter((c) => doneSet.has(c.index)).reduce((s, c) => s + c.rowEnd - c.rowStart, 0);
    const chunksDone = run.chunks.filter((c) => doneSet.has(c.index)).length;
    return {
      id: run.id,
      model: run.model,
      version: run.candidate.version,
      datasetName: run.dataset.name,
      datasetSha256: run.dataset.sha256,
      status: run.state,
      chunks: run.chunks.length,
      chunksDone,
      rows: run.dataset.rows,
      rowsScored,
      progress: run.dataset.rows === 0 ? 0 : rowsScored / run.dataset.rows,
      executor: run.executor,
      attempt: run.attempt,
      comparisonVersion: run.comparison?.version ?? null,
      startedAt: run.startedAt,
      startedBy: run.startedBy,
      completedAt: null,
      error: run.error,
      result: null,
    };
  }
}

export function viewOfDocument(doc: EvaluationDocument): EvaluationView {
  return {
    id: doc.id,
    model: doc.model,
    version: doc.version,
    datasetName: doc.dataset.name,
    datasetSha256: doc.dataset.sha256,
    status: 'SUCCEEDED',
    chunks: doc.chunks,
    chunksDone: doc.chunks,
    rows: doc.dataset.rows,
    rowsScored: doc.metrics.rows,
    progress: 1,
    executor: doc.executor,
    attempt: doc.attempts,
    comparisonVersion: doc.comparison?.version ?? null,
    startedAt: doc.startedAt,
    startedBy: doc.startedBy,
    completedAt: doc.completedAt,
    error: null,
    result: doc,
  };
}

/** Records a run's failure (compare-and-swap; a run already marked or finished is left alone). */
export async function markRunFailed(store: ObjectStore, key: string, error: unknown): Promise<void> {
  const got = await readRun(store, key);
  if (!got || got.run.state === 'FAILED') return;
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 500);
  const failed: RunDocument = { ...got.run, state: 'FAILED', error: message, updatedAt: new Date().toISOString() };
  await store
    .put(key, JSON.stringify(failed, null, 2), { ifMatch: got.etag, contentType: 'application/json' })
    .catch((err) => {
      if (!(err instanceof PreconditionFailedError)) throw err;
    });
}

export { readRun };
