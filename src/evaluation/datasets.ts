import { createHash } from 'node:crypto';
import type { AsyncBuffer } from 'hyparquet';
import * as z from 'zod';
import { BadUserInputError, ConflictError, ModelgraphError } from '../errors';
import { parseJsonDocument } from '../registry/versionMetadata';
import { ObjectNotFoundError, PreconditionFailedError } from '../storage/errors';
import { replacing, type ObjectStore } from '../storage/objectStore';
import { openCsv, openDatasetBytes, openParquet, type DatasetFile } from './datasetFile';
import {
  DATASET_MANIFEST_FILE,
  DATASETS_PREFIX,
  DatasetNameSchema,
  datasetFileKey,
  datasetManifestKey,
} from './layout';

/**
 * Datasets for evaluation: a Parquet (or small CSV) file under
 * `shared/datasets/{name}/`, content-addressed and written once, and a
 * manifest naming the current file with what evaluation needs to plan without
 * opening it (rows, columns and their kinds, row groups, the label column).
 * `shared/` is not governed: the CLI writes datasets with the engineer's
 * credentials. An evaluation records the dataset's sha256 and file key, so
 * pushing a new file under the same name never changes an evaluation.
 */
export const DatasetColumnSchema = z.object({
  name: z.string(),
  kind: z.enum(['number', 'string', 'timestamp', 'other']),
});

export const DatasetManifestSchema = z.object({
  name: z.string(),
  sha256: z.string(),
  key: z.string(),
  format: z.enum(['parquet', 'csv']),
  sizeBytes: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  columns: z.array(DatasetColumnSchema),
  rowGroups: z.array(z.object({ rowStart: z.number().int(), rows: z.number().int() })),
  labelColumn: z.string(),
  timestampColumn: z.string().nullable(),
  pnlColumn: z.string().nullable(),
  tickerColumn: z.string().nullable(),
  /** The distinct values of the label column (at most MAX_LABELS). */
  labels: z.array(z.string()),
  pushedAt: z.string(),
  pushedBy: z.string().nullable(),
});
export type DatasetManifest = z.infer<typeof DatasetManifestSchema>;

/** Which columns play which part; defaults `label`, `timestamp`, `pnl`, `ticker` (the optional ones only if present). */
export interface ColumnRoles {
  labelColumn?: string;
  timestampColumn?: string | null;
  pnlColumn?: string | null;
  tickerColumn?: string | null;
}

const MAX_LABELS = 1_000;

/** A dataset whose contents break a rule (BAD_USER_INPUT naming the column). */
export class InvalidDatasetError extends BadUserInputError {
  constructor(name: string, message: string, details: Record<string, unknown> = {}) {
    super(`dataset "${name}": ${message}`, { dataset: name, ...details });
    this.name = 'InvalidDatasetError';
  }
}

export function parseDatasetName(name: unknown): string {
  const r = DatasetNameSchema.safeParse(name);
  if (!r.success)
    throw new BadUserInputError(`Invalid dataset name: ${r.error.issues[0]?.message ?? 'invalid'}`, {
      argument: 'dataset',
    });
  return r.data;
}

/**
 * Checks a dataset file and describes it: a label column of strings (or
 * integers) with no gaps, a numeric `pnl`, a parseable timestamp; feature
 * columns are checked against a version's feature names when it is evaluated.
 */
export async function describeDataset(
  name: string,
  file: DatasetFile,
  roles: ColumnRoles,
): Promise<Omit<DatasetManifest, 'sha256' | 'key' | 'sizeBytes' | 'pushedAt' | 'pushedBy'>> {
  const byName = new Map(file.columns.map((c) => [c.name, c]));
  const optional = (given: string | null | undefined, fallback: string) =>
    given === null ? null : given !== undefined ? given : byName.has(fallback) ? fallback : null;
  const labelColumn = roles.labelColumn ?? 'label';
  const timestampColumn = optional(roles.timestampColumn, 'timestamp');
  const pnlColumn = optional(roles.pnlColumn, 'pnl');
  const tickerColumn = optional(roles.tickerColumn, 'ticker');
  for (const [role, column] of [
    ['label', labelColumn],
    ['timestamp', timestampColumn],
    ['pnl', pnlColumn],
    ['ticker', tickerColumn],
  ] as const) {
    if (column !== null && !byName.has(column))
      throw new InvalidDatasetError(
        name,
        `has no ${role} column "${column}" (columns: ${[...byName.keys()].join(', ')})`,
        {
          column,
        },
      );
  }
  if (file.rows === 0) throw new InvalidDatasetError(name, 'has no rows');
  if (pnlColumn && byName.get(pnlColumn)!.kind !== 'number')
    throw new InvalidDatasetError(name, `pnl column "${pnlColumn}" is not numeric`, { column: pnlColumn });
  const label = byName.get(labelColumn)!;
  if (label.kind !== 'string' && label.kind !== 'number')
    throw new InvalidDatasetError(name, `label column "${labelColumn}" holds neither strings nor integers`, {
      column: labelColumn,
    });
  const labels = new Set<string>();
  const checked = [labelColumn, ...(timestampColumn ? [timestampColumn] : []), ...(pnlColumn ? [pnlColumn] : [])];
  for (const group of file.rowGroups) {
    const values = await file.read(group.rowStart, group.rowStart + group.rows, checked);
    const labelValues = values.get(labelColumn)!;
    for (let i = 0; i < group.rows; i++) {
      const v = labelValues[i];
      if (v === null || v === '' || (typeof v === 'number' && Number.isNaN(v)))
        throw new InvalidDatasetError(name, `row ${group.rowStart + i} has no label`, { row: group.rowStart + i });
      if (labels.size < MAX_LABELS) labels.add(String(v));
    }
    if (timestampColumn) {
      const ts = values.get(timestampColumn)!;
      for (let i = 0; i < group.rows; i++)
        if (ts[i] !== null && !(typeof ts[i] === 'number' && Number.isNaN(ts[i])) && toEpochMs(ts[i]) === null)
          throw new InvalidDatasetError(name, `row ${group.rowStart + i}: timestamp "${ts[i]}" is not a date`, {
            row: group.rowStart + i,
          });
    }
    if (pnlColumn) {
      const pnl = values.get(pnlColumn)!;
      for (let i = 0; i < group.rows; i++)
        if (typeof pnl[i] !== 'number' || !Number.isFinite(pnl[i] as number))
          throw new InvalidDatasetError(name, `row ${group.rowStart + i}: pnl is not a finite number`, {
            row: group.rowStart + i,
          });
    }
  }
  return {
    name,
    format: file.format,
    rows: file.rows,
    columns: file.columns,
    rowGroups: file.rowGroups,
    labelColumn,
    timestampColumn,
    pnlColumn,
    tickerColumn,
    labels: [...labels].sort(),
  };
}

/**
 * A timestamp as epoch milliseconds: Parquet timestamps arrive so; numbers
 * below 10^11 are taken as epoch seconds; strings must parse as ISO dates.
 */
export function toEpochMs(v: number | string | null): number | null {
  if (v === null) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? (Math.abs(v) < 1e11 ? v * 1000 : v) : null;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Validates and stores a dataset: the file write-once under its sha256, then
 * the manifest (compare-and-swap against the one read, so of two concurrent
 * pushes one wins and the other is CONFLICT). Pushing the same bytes again
 * rewrites nothing but the manifest's time.
 */
export async function pushDataset(
  store: ObjectStore,
  input: { name: string; bytes: Buffer; roles?: ColumnRoles; by: string | null },
  opts: { onProgress?: (sent: number, total: number) => void } = {},
): Promise<DatasetManifest> {
  const name = parseDatasetName(input.name);
  const file = await openDatasetBytes(input.bytes);
  const description = await describeDataset(name, file, input.roles ?? {});
  const sha256 = createHash('sha256').update(input.bytes).digest('hex');
  const key = datasetFileKey(name, sha256, file.format);
  const previous = await store.getIfExists(datasetManifestKey(name));
  if (!(await store.head(key))) {
    try {
      await store.upload(key, input.bytes, { ifNoneMatch: '*', onProgress: opts.onProgress });
    } catch (err) {
      // Content-addressed: whoever wrote this key first wrote these bytes.
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
  const manifest: DatasetManifest = {
    ...description,
    sha256,
    key,
    sizeBytes: input.bytes.byteLength,
    pushedAt: new Date().toISOString(),
    pushedBy: input.by,
  };
  try {
    await store.put(datasetManifestKey(name), JSON.stringify(manifest, null, 2), {
      ...replacing(previous?.etag),
      contentType: 'application/json',
    });
  } catch (err) {
    if (err instanceof PreconditionFailedError)
      throw new ConflictError(`dataset "${name}" was pushed by someone else meanwhile; push again`, { dataset: name });
    throw err;
  }
  return manifest;
}

export async function readDatasetManifest(store: ObjectStore, name: string): Promise<DatasetManifest | null> {
  const key = datasetManifestKey(parseDatasetName(name));
  const got = await store.getIfExists(key);
  return got ? parseJsonDocument(DatasetManifestSchema, got.body, key) : null;
}

export class DatasetNotFoundError extends ModelgraphError {
  constructor(name: string) {
    super('BAD_USER_INPUT', `No dataset "${name}" (push one with \`modelgraph dataset push FILE --name ${name}\`)`, {
      dataset: name,
    });
    this.name = 'DatasetNotFoundError';
  }
}

export async function requireDataset(store: ObjectStore, name: string): Promise<DatasetManifest> {
  const manifest = await readDatasetManifest(store, name);
  if (!manifest) throw new DatasetNotFoundError(name);
  return manifest;
}

/** Every dataset's manifest, by name. */
export async function listDatasets(store: ObjectStore): Promise<DatasetManifest[]> {
  const keys = (await store.listKeys(DATASETS_PREFIX)).filter((k) => k.endsWith(`/${DATASET_MANIFEST_FILE}`));
  const manifests = await Promise.all(
    keys.map(async (key) => {
      try {
        return parseJsonDocument(DatasetManifestSchema, (await store.get(key)).body, key);
      } catch (err) {
        if (err instanceof ObjectNotFoundError) return null;
        throw err;
      }
    }),
  );
  return manifests.filter((m): m is DatasetManifest => m !== null).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The dataset file of a manifest, read from the bucket: Parquet by byte ranges
 * (footer, then a chunk's column chunks), pinned to the object's ETag; CSV whole.
 */
export async function openStoredDataset(store: ObjectStore, manifest: DatasetManifest): Promise<DatasetFile> {
  if (manifest.format === 'csv') {
    const body = await store.getVerified(manifest.key, { sha256: manifest.sha256, size: manifest.sizeBytes });
    return openCsv(body.toString('utf8'));
  }
  const head = await store.head(manifest.key);
  if (!head) throw new ObjectNotFoundError(manifest.key);
  const file: AsyncBuffer = {
    byteLength: head.size,
    slice: async (start: number, end?: number) => {
      const body = await store.getRange(manifest.key, start, end ?? head.size, head.etag || undefined);
      return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
    },
  };
  return openParquet(file);
}
