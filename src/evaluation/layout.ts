import * as z from 'zod';
import { SHARED_PREFIX } from '../registry/bucketLayout';

/**
 * Keys of datasets and evaluations (the bucket layout's other keys are in
 * src/registry/bucketLayout.ts). Arguments are parsed identifiers.
 *
 *   shared/datasets/{name}/manifest.json            the dataset's current file: sha256, rows, columns, row groups
 *   shared/datasets/{name}/{sha256}.parquet|.csv    the file, write-once, content-addressed
 *   {model}/evaluations/{version}/{datasetSha256}.json                   the result, write-once
 *   {model}/evaluations/{version}/{datasetSha256}/run.json               the run: plan, state (compare-and-swap)
 *   {model}/evaluations/{version}/{datasetSha256}/chunks/{000042}.json   a chunk's partial result, write-once
 */
export const DATASETS_PREFIX = `${SHARED_PREFIX}datasets/`;
export const DATASET_MANIFEST_FILE = 'manifest.json';

/** A dataset name: lower-case letters, digits, ".", "_" and "-", 1–64 characters, no "..". */
export const DatasetNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a dataset name is 1–64 of a-z 0-9 . _ -, starting with a letter or digit')
  .refine((n) => !n.includes('..'), 'a dataset name may not contain ".."');

export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lower-case hex digits');

export function datasetPrefix(name: string): string {
  return `${DATASETS_PREFIX}${name}/`;
}

export function datasetManifestKey(name: string): string {
  return `${datasetPrefix(name)}${DATASET_MANIFEST_FILE}`;
}

export function datasetFileKey(name: string, sha256: string, format: 'parquet' | 'csv'): string {
  return `${datasetPrefix(name)}${sha256}.${format}`;
}

/** The folder of everything evaluated on one version. */
export function evaluationsPrefix(model: string, version: string): string {
  return `${model}/evaluations/${version}/`;
}

/** The write-once result of evaluating `{model}@{version}` on the dataset with this sha256. */
export function evaluationKey(model: string, version: string, datasetSha256: string): string {
  return `${evaluationsPrefix(model, version)}${datasetSha256}.json`;
}

export function evaluationRunPrefix(model: string, version: string, datasetSha256: string): string {
  return `${evaluationsPrefix(model, version)}${datasetSha256}/`;
}

export function evaluationRunKey(model: string, version: string, datasetSha256: string): string {
  return `${evaluationRunPrefix(model, version, datasetSha256)}run.json`;
}

export function evaluationChunksPrefix(model: string, version: string, datasetSha256: string): string {
  return `${evaluationRunPrefix(model, version, datasetSha256)}chunks/`;
}

export function evaluationChunkKey(model: string, version: string, datasetSha256: string, chunk: number): string {
  return `${evaluationChunksPrefix(model, version, datasetSha256)}${String(chunk).padStart(6, '0')}.json`;
}

/** The chunk index of a chunk key, or undefined for another key. */
export function chunkIndexOf(key: string): number | undefined {
  const m = /\/chunks\/(\d{6,})\.json$/.exec(key);
  return m ? Number(m[1]) : undefined;
}
