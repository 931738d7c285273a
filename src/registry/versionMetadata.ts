import * as z from 'zod';
import { InvalidModelError } from '../errors';
import { COMPRESSED_MODEL_FILES, ENSEMBLE_WEIGHTS_FILE, MODEL_FILE } from './bucketLayout';

/** sha256 and size of one artifact of a version, as stored in its metadata.json. */
export const ArtifactSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

/** One member of an ensemble version, pinned to an exact version of its model. */
export const EnsembleMemberSchema = z.object({
  model: z.string(),
  version: z.string(),
  weight: z.number().positive().finite(),
});
export type EnsembleMember = z.infer<typeof EnsembleMemberSchema>;

/** How an ensemble combines its members: soft = weighted mean of probabilities, hard = weighted majority of labels. */
export const VotingMethodSchema = z.enum(['soft', 'hard']);
export type VotingMethod = z.infer<typeof VotingMethodSchema>;

/**
 * `{model}/archive/{version}/metadata.json`. snake_case as in the original
 * layout; unknown fields are kept. A classifier (`task` absent or
 * "classification") names its class labels in `strategies`, in the column
 * order of its `probabilities` output; a regressor (`task: "regression"`)
 * names its numeric outputs in `targets`, in the column order of its output
 * tensor. An ensemble version (under `ensembles/`) is a classifier whose
 * `ensemble` field pins its members and voting method.
 */
const VersionMetadataFields = {
  version: z.string(),
  created: z.string().optional(),
  accuracy: z.number().optional(),
  training_samples: z.number().int().optional(),
  features: z.number().int().optional(),
  task: z.enum(['classification', 'regression']).optional(),
  strategies: z.array(z.string()).min(2).optional(),
  targets: z.array(z.string()).min(1).optional(),
  ensemble: z.object({ voting: VotingMethodSchema, members: z.array(EnsembleMemberSchema).min(1) }).optional(),
  model_type: z.string().optional(),
  description: z.string().optional(),
  artifacts: z.record(z.string(), ArtifactSchema),
};

/** A classifier needs `strategies`, a regressor `targets` (and no `ensemble`). */
function checkTask(
  meta: { task?: string; strategies?: string[]; targets?: string[]; ensemble?: unknown },
  ctx: z.core.$RefinementCtx,
): void {
  if (meta.task === 'regression') {
    if (!meta.targets)
      ctx.addIssue({
        code: 'custom',
        path: ['targets'],
        message: 'a regressor (task "regression") names its outputs in "targets"',
      });
    if (meta.ensemble)
      ctx.addIssue({
        code: 'custom',
        path: ['ensemble'],
        message: 'an ensemble votes over classifiers; it cannot be a regressor',
      });
  } else if (!meta.strategies) {
    ctx.addIssue({
      code: 'custom',
      path: ['strategies'],
      message: 'a classifier names its class labels in "strategies"',
    });
  }
}

export const VersionMetadataSchema = z.looseObject(VersionMetadataFields).superRefine(checkTask);
export type VersionMetadata = z.infer<typeof VersionMetadataSchema>;

/** What a publisher says about a version; checksums and the version name are added on publish. */
export interface VersionDescription {
  created?: string;
  accuracy?: number;
  training_samples?: number;
  features?: number;
  task?: 'classification' | 'regression';
  strategies?: string[];
  targets?: string[];
  model_type?: string;
  description?: string;
  [extra: string]: unknown;
}

export const DeploymentAction = { PROMOTE: 'PROMOTE', ROLLBACK: 'ROLLBACK', TRAFFIC: 'TRAFFIC' } as const;

/**
 * Shadow and canary traffic of a model, kept in its production pointer. shadow:
 * every production prediction also runs the staging version in the same batch.
 * canary_percent: that share of tickers (chosen by a hash of model and ticker)
 * is served by staging.
 */
export const TrafficSchema = z.object({
  shadow: z.boolean(),
  canary_percent: z.number().min(0).max(100),
});
export type Traffic = z.infer<typeof TrafficSchema>;

/** A stage without traffic settings: neither shadow nor canary. */
export const TRAFFIC_OFF: Readonly<Traffic> = Object.freeze({ shadow: false, canary_percent: 0 });
export type DeploymentAction = (typeof DeploymentAction)[keyof typeof DeploymentAction];

/** One successful promote or rollback, recorded in the same write that moved the pointer. */
export const DeploymentRecordSchema = z.object({
  id: z.string(),
  model: z.string(),
  stage: z.enum(['PRODUCTION', 'STAGING']),
  action: z.enum(['PROMOTE', 'ROLLBACK', 'TRAFFIC']),
  from: z.string().nullable(),
  to: z.string(),
  by: z.string(),
  at: z.string(),
  reason: z.string().nullable(),
  generation: z.number().int().positive(),
  /** For TRAFFIC: the shadow/canary settings after the change. */
  traffic: TrafficSchema.optional(),
  /** A promotion that went through despite its policy (models:approve), with the rules it broke. */
  override: z.boolean().optional(),
  violations: z.array(z.object({ rule: z.string(), required: z.string(), actual: z.string() })).optional(),
  /** The candidate's approval as the promotion read it (evidence; absent before governance existed). */
  approval: z
    .object({ status: z.enum(['PENDING', 'APPROVED', 'REJECTED']), generation: z.number().int().nonnegative() })
    .optional(),
});
export type DeploymentRecord = z.infer<typeof DeploymentRecordSchema>;

/**
 * `{model}/{stage}/metadata.json`: the stage pointer. It is the served version's
 * metadata (so tools that read the original layout still find version, accuracy,
 * strategies there) plus where the immutable files are, a generation number and
 * the stage's whole deployment history. Pointer and history change in ONE
 * conditional PutObject, so a successful promotion is recorded exactly once and
 * a failed one not at all.
 */
export const StagePointerSchema = z
  .looseObject({
    ...VersionMetadataFields,
    stage: z.enum(['PRODUCTION', 'STAGING']),
    source: z.string(),
    generation: z.number().int().positive(),
    promoted_at: z.string(),
    promoted_by: z.string(),
    /** The newest deployments of this stage (oldest first); older ones are in history_archives. */
    history: z.array(DeploymentRecordSchema),
    /** Keys of write-once files holding older deployments, oldest first (see Deployments). */
    history_archives: z.array(z.string()).optional(),
    /** Shadow and canary traffic of this stage (production only); absent = neither. */
    traffic: TrafficSchema.optional(),
  })
  .superRefine(checkTask);
export type StagePointer = z.infer<typeof StagePointerSchema>;

export function parseJsonDocument<T>(schema: z.ZodType<T>, body: Buffer, key: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InvalidModelError(`${key} is not valid JSON`, { key }, { cause: err });
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidModelError(`${key} is malformed: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, {
      key,
    });
  }
  return result.data;
}

export const FeatureNamesSchema = z
  .array(z.string().min(1).max(128))
  .min(1)
  .max(10_000)
  .refine((names) => new Set(names).size === names.length, 'feature names must be distinct');

export type ModelTask = 'CLASSIFICATION' | 'REGRESSION';

export function taskOf(meta: Pick<VersionMetadata, 'task'>): ModelTask {
  return meta.task === 'regression' ? 'REGRESSION' : 'CLASSIFICATION';
}

/** A classifier's labels (probability columns) or a regressor's targets (output columns). */
export function outputColumns(meta: Pick<VersionMetadata, 'task' | 'strategies' | 'targets'>): string[] {
  return (meta.task === 'regression' ? meta.targets : meta.strategies) ?? [];
}

/** Which file of the version holds the model: plain first, then compressed. */
export function modelArtifactName(metadata: Pick<VersionMetadata, 'version' | 'artifacts'>): string {
  if (metadata.artifacts[MODEL_FILE]) return MODEL_FILE;
  const compressed = COMPRESSED_MODEL_FILES.find((f) => metadata.artifacts[f]);
  if (!compressed) throw new InvalidModelError(`metadata of version ${metadata.version} lists no model.onnx artifact`);
  return compressed;
}

/** The file that stands for a version (size, sha256): its model, or an ensemble's weights. */
export function primaryArtifactName(metadata: Pick<VersionMetadata, 'version' | 'artifacts' | 'ensemble'>): string {
  return metadata.ensemble ? ENSEMBLE_WEIGHTS_FILE : modelArtifactName(metadata);
}
