import { BadUserInputError, ModelgraphError } from '../errors';
import { argmax } from '../inference/modelBundle';
import type { ModelCache } from '../inference/modelCache';
import type { Registry } from '../registry/registry';
import { PreconditionFailedError } from '../storage/errors';
import type { ObjectStore } from '../storage/objectStore';
import type { ColumnValues, DatasetFile } from './datasetFile';
import { openStoredDataset, toEpochMs, type DatasetManifest } from './datasets';
import {
  ChunkResultSchema,
  EvaluationDocumentSchema,
  evaluationId,
  type Chunk,
  type ChunkResult,
  type EvaluatedVersion,
  type EvaluationDocument,
  type RunDocument,
} from './evaluationRecords';
import { chunkIndexOf, evaluationChunkKey, evaluationChunksPrefix, evaluationKey } from './layout';
import { EMPTY_TALLY, mergeTallies, summarize, tallyRows, type Tally } from './metrics';
import { parseJsonDocument } from '../registry/versionMetadata';

/** What scoring needs: the bucket, version metadata, and the process's model cache. */
export interface ScoringDeps {
  store: ObjectStore;
  registry: Registry;
  models: ModelCache;
}

/** Rows per chunk at most: a row group larger than this is cut into row ranges. */
export const DEFAULT_CHUNK_ROWS = 100_000;

/**
 * The chunk plan: one chunk per row group, a row group larger than
 * `maxRows` cut into ranges of at most `maxRows` rows (pyarrow writes row
 * groups of up to 1 Mi rows: one chunk per group would not spread).
 */
export function planChunks(manifest: Pick<DatasetManifest, 'rowGroups'>, maxRows = DEFAULT_CHUNK_ROWS): Chunk[] {
  const chunks: Chunk[] = [];
  for (const group of manifest.rowGroups) {
    for (let s = 0; s < group.rows; s += maxRows) {
      chunks.push({
        index: chunks.length,
        rowStart: group.rowStart + s,
        rowEnd: group.rowStart + Math.min(group.rows, s + maxRows),
      });
    }
  }
  return chunks;
}

/** The dataset lacks some of a version's features (or has them as non-numbers): nothing was scored. */
export class DatasetFeatureMismatchError extends BadUserInputError {
  constructor(dataset: string, model: string, version: string, missing: string[], nonNumeric: string[]) {
    super(
      `dataset "${dataset}" cannot be scored by ${model}@${version}: ` +
        [
          missing.length
            ? `missing features ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`
            : '',
          nonNumeric.length ? `non-numeric features ${nonNumeric.slice(0, 10).join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
      {
        dataset,
        model,
        version,
        missingFeatures: missing.slice(0, 200),
        nonNumericFeatures: nonNumeric.slice(0, 200),
      },
    );
    this.name = 'DatasetFeatureMismatchError';
  }
}

/** Every feature of the version must be a numeric column of the dataset (extra columns are fine). */
export function checkDatasetFeatures(
  manifest: DatasetManifest,
  model: string,
  version: string,
  featureNames: readonly string[],
): void {
  const columns = new Map(manifest.columns.map((c) => [c.name, c.kind]));
  const missing = featureNames.filter((f) => !columns.has(f));
  const nonNumeric = featureNames.filter((f) => columns.has(f) && columns.get(f) !== 'number');
  if (missing.length || nonNumeric.length)
    throw new DatasetFeatureMismatchError(manifest.name, model, version, missing, nonNumeric);
}

/** Opened dataset files by sha256 (a warm Lambda scoring many chunks of one dataset reads its footer once). */
const openFiles = new Map<string, Promise<DatasetFile>>();
const MAX_OPEN_FILES = 8;

function openDataset(store: ObjectStore, manifest: DatasetManifest): Promise<DatasetFile> {
  let file = openFiles.get(manifest.sha256);
  if (!file) {
    if (openFiles.size >= MAX_OPEN_FILES) openFiles.delete(openFiles.keys().next().value!);
    file = openStoredDataset(store, manifest);
    file.catch(() => openFiles.delete(manifest.sha256));
    openFiles.set(manifest.sha256, file);
  }
  return file;
}

/** The feature matrix of some rows, row-major in `featureNames` order; a missing or non-finite value is BAD_USER_INPUT. */
function featureMatrix(
  values: Map<string, ColumnValues>,
  featureNames: readonly string[],
  rowStart: number,
  n: number,
): Float32Array {
  const width = featureNames.length;
  const input = new Float32Array(n * width);
  featureNames.forEach((name, c) => {
    const column = values.get(name)!;
    for (let r = 0; r < n; r++) {
      const v = column[r];
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new BadUserInputError(`dataset row ${rowStart + r}: feature ${name} is not a finite number`, {
          row: rowStart + r,
          invalidFeatures: [name],
        });
      input[r * width + c] = v;
    }
  });
  return input;
}

async function predictLabels(
  deps: ScoringDeps,
  model: string,
  version: EvaluatedVersion,
  values: Map<string, ColumnValues>,
  rowStart: number,
  n: number,
): Promise<string[]> {
  const metadata = await deps.registry.versionMetadata(model, version.version);
  let bundle = await deps.models.get(model, version.version, metadata);
  if (bundle.isReleased) bundle = await deps.models.get(model, version.version, metadata);
  const input = featureMatrix(values, bundle.featureNames, rowStart, n);
  const probabilities = await deps.models.run(bundle, input, n);
  const classes = bundle.labels.length;
  const out = new Array<string>(n);
  for (let r = 0; r < n; r++) out[r] = bundle.labels[argmax(probabilities, r * classes, classes)];
  return out;
}

/** The tally of one chunk's rows: reads its rows, runs the candidate (and the comparison) once each. */
export async function tallyChunk(
  deps: ScoringDeps,
  run: RunDocument,
  chunk: Chunk,
  file?: DatasetFile,
): Promise<Tally> {
  const dataset = run.dataset;
  const data = file ?? (await openDataset(deps.store, dataset));
  const columns = new Set<string>([
    ...run.candidate.featureNames,
    ...(run.comparison?.featureNames ?? []),
    dataset.labelColumn,
    ...(dataset.timestampColumn ? [dataset.timestampColumn] : []),
    ...(dataset.pnlColumn ? [dataset.pnlColumn] : []),
  ]);
  const values = await data.read(chunk.rowStart, chunk.rowEnd, [...columns]);
  const n = chunk.rowEnd - chunk.rowStart;
  const [predicted, comparisonPredicted] = await Promise.all([
    predictLabels(deps, run.model, run.candidate, values, chunk.rowStart, n),
    run.comparison ? predictLabels(deps, run.model, run.comparison, values, chunk.rowStart, n) : null,
  ]);
  const labelValues = values.get(dataset.labelColumn)!;
  const labels = Array.from({ length: n }, (_, r) => String(labelValues[r]));
  let timestamps: number[] | null = null;
  if (dataset.timestampColumn) {
    const ts = values.get(dataset.timestampColumn)!;
    timestamps = Array.from({ length: n }, (_, r) => toEpochMs(ts[r]) ?? Number.NaN);
  }
  const pnl = dataset.pnlColumn ? Array.from(values.get(dataset.pnlColumn)!, (v) => Number(v)) : null;
  return tallyRows({ rowStart: chunk.rowStart, labels, predicted, comparisonPredicted, timestamps, pnl });
}

/**
 * Scores chunk `index` of a run and writes its partial result write-once
 * (If-None-Match: *). A chunk already written is not scored again: a retried
 * or duplicated invocation changes nothing and is never counted twice.
 */
export async function scoreChunk(
  deps: ScoringDeps,
  run: RunDocument,
  index: number,
  file?: DatasetFile,
): Promise<'written' | 'existed'> {
  const chunk = run.chunks[index];
  if (!chunk) throw new BadUserInputError(`the run has no chunk ${index}`, { chunk: index });
  const key = evaluationChunkKey(run.model, run.candidate.version, run.dataset.sha256, index);
  if (await deps.store.head(key)) return 'existed';
  const tally = await tallyChunk(deps, run, chunk, file);
  const result: ChunkResult = {
    chunk: index,
    rowStart: chunk.rowStart,
    rowEnd: chunk.rowEnd,
    comparisonVersion: run.comparison?.version ?? null,
    tally,
  };
  try {
    await deps.store.put(key, JSON.stringify(result), { ifNoneMatch: '*', contentType: 'application/json' });
    return 'written';
  } catch (err) {
    if (err instanceof PreconditionFailedError) return 'existed';
    throw err;
  }
}

/** The reduce step found chunks without a result: the run must finish (or be resumed) first. */
export class IncompleteEvaluationError extends ModelgraphError {
  constructor(missing: number[]) {
    super(
      'CONFLICT',
      `the evaluation lacks ${missing.length} chunk result(s) (${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''})`,
      { missingChunks: missing.slice(0, 100) },
    );
    this.name = 'IncompleteEvaluationError';
  }
}

export async function readEvaluationDocument(
  store: ObjectStore,
  model: string,
  version: string,
  datasetSha256: string,
): Promise<EvaluationDocument | null> {
  const key = evaluationKey(model, version, datasetSha256);
  const got = await store.getIfExists(key);
  return got ? parseJsonDocument(EvaluationDocumentSchema, got.body, key) : null;
}

/** Indices of the chunks written so far (one listing). */
export async function writtenChunks(store: ObjectStore, run: Pick<RunDocument, 'model' | 'candidate' | 'dataset'>) {
  const listed = await store.listObjects(evaluationChunksPrefix(run.model, run.candidate.version, run.dataset.sha256));
  return listed
    .map((o) => ({ index: chunkIndexOf(o.key), lastModified: o.lastModified }))
    .filter((c): c is { index: number; lastModified: Date | null } => c.index !== undefined);
}

/** GETs of chunk results in flight at once during a reduce. */
const REDUCE_CONCURRENCY = 16;

/**
 * The reduce step: merges every chunk's tally (in chunk order) and writes the
 * result document write-once. If it exists already (a retried reduce, or a
 * concurrent one), the stored document is the answer and nothing is written.
 */
export async function reduceEvaluation(deps: ScoringDeps, run: RunDocument): Promise<EvaluationDocument> {
  const { model } = run;
  const version = run.candidate.version;
  const existing = await readEvaluationDocument(deps.store, model, version, run.dataset.sha256);
  if (existing) return existing;
  const present = new Set((await writtenChunks(deps.store, run)).map((c) => c.index));
  const missing = run.chunks.map((c) => c.index).filter((i) => !present.has(i));
  if (missing.length) throw new IncompleteEvaluationError(missing);
  const tallies = new Array<Tally>(run.chunks.length);
  let next = 0;
  const comparisonVersion = run.comparison?.version ?? null;
  await Promise.all(
    Array.from({ length: Math.min(REDUCE_CONCURRENCY, run.chunks.length) }, async () => {
      while (next < run.chunks.length) {
        const i = next++;
        const key = evaluationChunkKey(model, version, run.dataset.sha256, i);
        const result = parseJsonDocument(ChunkResultSchema, (await deps.store.get(key)).body, key);
        if (result.rowStart !== run.chunks[i].rowStart || result.rowEnd !== run.chunks[i].rowEnd)
          throw new ModelgraphError('INTEGRITY_ERROR', `${key} covers other rows than the run's chunk ${i}`);
        if (result.comparisonVersion !== comparisonVersion)
          throw new ModelgraphError('INTEGRITY_ERROR', `${key} was compared with another version`);
        tallies[i] = result.tally;
      }
    }),
  );
  const total = tallies.reduce(mergeTallies, EMPTY_TALLY);
  const doc: EvaluationDocument = {
    id: evaluationId(model, version, run.dataset.sha256),
    model,
    version,
    dataset: { name: run.dataset.name, sha256: run.dataset.sha256, rows: run.dataset.rows, key: run.dataset.key },
    candidate: run.candidate,
    comparison: run.comparison,
    metrics: summarize(total, run.candidate.labels),
    chunks: run.chunks.length,
    executor: run.executor,
    attempts: run.attempt,
    startedAt: run.startedAt,
    startedBy: run.startedBy,
    completedAt: new Date().toISOString(),
  };
  const key = evaluationKey(model, version, run.dataset.sha256);
  try {
    await deps.store.put(key, JSON.stringify(doc, null, 2), { ifNoneMatch: '*', contentType: 'application/json' });
    return doc;
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    return (await readEvaluationDocument(deps.store, model, version, run.dataset.sha256))!;
  }
}
