import * as z from 'zod';
import { BadUserInputError } from '../errors';
import { parseModelId, parseVersion } from '../registry/identifiers';
import { DatasetManifestSchema } from './datasets';
import { Sha256Schema } from './layout';

/**
 * The documents of an evaluation (keys in layout.ts): the run (what is
 * evaluated, the chunk plan, whether it runs or failed), each chunk's partial
 * tally, and the write-once result.
 */

/** A version as evaluated: enough to reproduce the figures. */
export const EvaluatedVersionSchema = z.object({
  version: z.string(),
  featureNames: z.array(z.string()),
  labels: z.array(z.string()),
  /** sha256 of the model artifact (the bytes every load is checked against). */
  sha256: z.string(),
  modelFile: z.string(),
  datasetSha256: z.string(),
});
export type EvaluatedVersion = z.infer<typeof EvaluatedVersionSchema>;

export const ComparisonTargetSchema = EvaluatedVersionSchema.extend({
  /** The stage whose version was compared against, when the run started. */
  stage: z.enum(['PRODUCTION', 'STAGING']),
});
export type ComparisonTarget = z.infer<typeof ComparisonTargetSchema>;

export const ChunkSchema = z.object({
  index: z.number().int().nonnegative(),
  rowStart: z.number().int().nonnegative(),
  rowEnd: z.number().int().nonnegative(),
});
export type Chunk = z.infer<typeof ChunkSchema>;

export const ExecutorKindSchema = z.enum(['IN_PROCESS', 'STEP_FUNCTIONS']);
export type ExecutorKind = z.infer<typeof ExecutorKindSchema>;

/** `{…}/{datasetSha256}/run.json`: replaced with compare-and-swap when a run fails or is resumed. */
export const RunDocumentSchema = z.object({
  id: z.string(),
  model: z.string(),
  candidate: EvaluatedVersionSchema,
  comparison: ComparisonTargetSchema.nullable(),
  dataset: DatasetManifestSchema,
  chunks: z.array(ChunkSchema),
  state: z.enum(['RUNNING', 'FAILED']),
  executor: ExecutorKindSchema,
  /** The Step Functions execution, or null in-process. */
  execution: z.string().nullable(),
  /** 1 for the first run; a resumed run adds one (chunks already written are kept). */
  attempt: z.number().int().positive(),
  startedAt: z.string(),
  startedBy: z.string(),
  updatedAt: z.string(),
  error: z.string().nullable(),
});
export type RunDocument = z.infer<typeof RunDocumentSchema>;

/** `{…}/{datasetSha256}/chunks/{index}.json`, write-once. */
export const ChunkResultSchema = z.object({
  chunk: z.number().int().nonnegative(),
  rowStart: z.number().int().nonnegative(),
  rowEnd: z.number().int().nonnegative(),
  comparisonVersion: z.string().nullable(),
  tally: z.object({
    rows: z.number(),
    correct: z.number(),
    confusion: z.record(z.string(), z.record(z.string(), z.number())),
    comparison: z
      .object({ correct: z.number(), agreements: z.number(), disagreementSample: z.array(z.number()) })
      .nullable(),
    months: z
      .record(z.string(), z.object({ rows: z.number(), correct: z.number(), comparisonCorrect: z.number() }))
      .nullable(),
    pnl: z
      .object({
        total: z.number(),
        absTotal: z.number(),
        absCorrect: z.number(),
        following: z.number(),
        comparisonAbsCorrect: z.number(),
        comparisonFollowing: z.number(),
      })
      .nullable(),
  }),
});
export type ChunkResult = z.infer<typeof ChunkResultSchema>;

/** `{model}/evaluations/{version}/{datasetSha256}.json`, write-once. */
export const EvaluationDocumentSchema = z.object({
  id: z.string(),
  model: z.string(),
  version: z.string(),
  dataset: z.object({ name: z.string(), sha256: z.string(), rows: z.number().int(), key: z.string() }),
  candidate: EvaluatedVersionSchema,
  comparison: ComparisonTargetSchema.nullable(),
  metrics: z.object({
    rows: z.number().int(),
    correct: z.number().int(),
    accuracy: z.number().nullable(),
    classes: z.array(
      z.object({
        label: z.string(),
        precision: z.number().nullable(),
        recall: z.number().nullable(),
        f1: z.number().nullable(),
        support: z.number().int(),
      }),
    ),
    confusion: z.object({ labels: z.array(z.string()), matrix: z.array(z.array(z.number().int())) }),
    comparisonAccuracy: z.number().nullable(),
    monthly: z
      .array(
        z.object({
          month: z.string(),
          rows: z.number().int(),
          accuracy: z.number(),
          comparisonAccuracy: z.number().nullable(),
        }),
      )
      .nullable(),
    pnl: z
      .object({
        total: z.number(),
        weightedAccuracy: z.number().nullable(),
        following: z.number(),
        comparisonWeightedAccuracy: z.number().nullable(),
        comparisonFollowing: z.number().nullable(),
      })
      .nullable(),
    agreement: z
      .object({
        rows: z.number().int(),
        agreements: z.number().int(),
        rate: z.number().nullable(),
        disagreementSample: z.array(z.number().int()),
      })
      .nullable(),
  }),
  chunks: z.number().int(),
  executor: ExecutorKindSchema,
  attempts: z.number().int(),
  startedAt: z.string(),
  startedBy: z.string(),
  completedAt: z.string(),
});
export type EvaluationDocument = z.infer<typeof EvaluationDocumentSchema>;

/** An evaluation's id: opaque to clients, `{model}@{version}` on the dataset's sha256 inside. */
export function evaluationId(model: string, version: string, datasetSha256: string): string {
  return `ev_${Buffer.from(`${model}|${version}|${datasetSha256}`, 'utf8').toString('base64url')}`;
}

export function parseEvaluationId(id: string): { model: string; version: string; datasetSha256: string } {
  const bad = () => new BadUserInputError('Invalid evaluation id', { argument: 'id' });
  if (typeof id !== 'string' || !id.startsWith('ev_') || id.length > 400) throw bad();
  const parts = Buffer.from(id.slice(3), 'base64url').toString('utf8').split('|');
  if (parts.length !== 3) throw bad();
  const sha = Sha256Schema.safeParse(parts[2]);
  if (!sha.success) throw bad();
  return { model: parseModelId(parts[0]), version: parseVersion(parts[1]), datasetSha256: sha.data };
}
