import * as z from 'zod';
import { InvalidModelError } from '../errors';

/** sha256 and size of one artifact of a version, as stored in its metadata.json. */
export const ArtifactSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

/**
 * `{model}/archive/{version}/metadata.json`. snake_case as in the original
 * layout; unknown fields are kept. `strategies` are the class labels in the
 * column order of the model's `probabilities` output.
 */
export const VersionMetadataSchema = z.looseObject({
  version: z.string(),
  created: z.string().optional(),
  accuracy: z.number().optional(),
  training_samples: z.number().int().optional(),
  features: z.number().int().optional(),
  strategies: z.array(z.string()).min(2),
  model_type: z.string().optional(),
  description: z.string().optional(),
  artifacts: z.record(z.string(), ArtifactSchema),
});
export type VersionMetadata = z.infer<typeof VersionMetadataSchema>;

/** What a publisher says about a version; checksums and the version name are added on publish. */
export interface VersionDescription {
  created?: string;
  accuracy?: number;
  training_samples?: number;
  features?: number;
  strategies: string[];
  model_type?: string;
  description?: string;
  [extra: string]: unknown;
}

export const DeploymentAction = { PROMOTE: 'PROMOTE', ROLLBACK: 'ROLLBACK' } as const;
export type DeploymentAction = (typeof DeploymentAction)[keyof typeof DeploymentAction];

/** One successful promote or rollback, recorded in the same write that moved the pointer. */
export const DeploymentRecordSchema = z.object({
  id: z.string(),
  model: z.string(),
  stage: z.enum(['PRODUCTION', 'STAGING']),
  action: z.enum(['PROMOTE', 'ROLLBACK']),
  from: z.string().nullable(),
  to: z.string(),
  by: z.string(),
  at: z.string(),
  reason: z.string().nullable(),
  generation: z.number().int().positive(),
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
export const StagePointerSchema = VersionMetadataSchema.extend({
  stage: z.enum(['PRODUCTION', 'STAGING']),
  source: z.string(),
  generation: z.number().int().positive(),
  promoted_at: z.string(),
  promoted_by: z.string(),
  /** The newest deployments of this stage (oldest first); older ones are in history_archives. */
  history: z.array(DeploymentRecordSchema),
  /** Keys of write-once files holding older deployments, oldest first (see Deployments). */
  history_archives: z.array(z.string()).optional(),
});
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
    throw new InvalidModelError(`${key} is malformed: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, { key });
  }
  return result.data;
}

export const FeatureNamesSchema = z
  .array(z.string().min(1).max(128))
  .min(1)
  .max(10_000)
  .refine((names) => new Set(names).size === names.length, 'feature names must be distinct');
