import * as z from 'zod';

/**
 * The governance documents' shapes (keys in bucketLayout.ts). Each is one JSON
 * document replaced with compare-and-swap (If-Match its ETag, If-None-Match: *
 * to create it), carrying a `generation` that grows by one with every change
 * and the whole `history` of changes, written in the same PUT as the change:
 * a change is recorded exactly when it happened. Every `by` is an
 * authenticated principal. Events are derived from these histories (and the
 * stage pointers'), never from memory.
 */

export const ApprovalStatusSchema = z.enum(['PENDING', 'APPROVED', 'REJECTED']);
export type ApprovalStatus = z.infer<typeof ApprovalStatusSchema>;

/** REGISTER: the API registered the version (its publisher); APPROVE / REJECT: a decision. */
export const ApprovalRecordSchema = z.object({
  id: z.string(),
  action: z.enum(['REGISTER', 'APPROVE', 'REJECT']),
  status: ApprovalStatusSchema,
  by: z.string(),
  at: z.string(),
  note: z.string().nullable(),
  generation: z.number().int().positive(),
});
export type ApprovalRecord = z.infer<typeof ApprovalRecordSchema>;

/** `{model}/approvals/{version}.json`. Absent: the version was never registered through the API (PENDING, publisher unknown). */
export const ApprovalDocumentSchema = z.object({
  model: z.string(),
  version: z.string(),
  status: ApprovalStatusSchema,
  /** Who decided the current status (null while PENDING). */
  by: z.string().nullable(),
  at: z.string().nullable(),
  note: z.string().nullable(),
  /** The principal whose registration made the version visible: four eyes compares against it. */
  published_by: z.string(),
  published_at: z.string(),
  generation: z.number().int().positive(),
  history: z.array(ApprovalRecordSchema),
});
export type ApprovalDocument = z.infer<typeof ApprovalDocumentSchema>;

/** A version's mutable tags (string values) and description. */
export const TagsSchema = z.record(z.string(), z.string());
export const VersionTagsRecordSchema = z.object({
  id: z.string(),
  by: z.string(),
  at: z.string(),
  generation: z.number().int().positive(),
  tags: TagsSchema,
  description: z.string().nullable(),
});
/** `{model}/tags/{version}.json`. */
export const VersionTagsDocumentSchema = z.object({
  model: z.string(),
  version: z.string(),
  tags: TagsSchema,
  description: z.string().nullable(),
  generation: z.number().int().positive(),
  history: z.array(VersionTagsRecordSchema),
});
export type VersionTagsDocument = z.infer<typeof VersionTagsDocumentSchema>;

export const AliasRecordSchema = z.object({
  id: z.string(),
  model: z.string(),
  alias: z.string(),
  action: z.enum(['SET', 'DELETE']),
  from: z.string().nullable(),
  /** The version after the move; null after DELETE. */
  to: z.string().nullable(),
  by: z.string(),
  at: z.string(),
  reason: z.string().nullable(),
  generation: z.number().int().positive(),
});
export type AliasRecord = z.infer<typeof AliasRecordSchema>;

/** `{model}/aliases/{alias}.json`: a named pointer. A deleted alias keeps its document (version null) and history. */
export const AliasDocumentSchema = z.object({
  model: z.string(),
  alias: z.string(),
  version: z.string().nullable(),
  generation: z.number().int().positive(),
  history: z.array(AliasRecordSchema),
});
export type AliasDocument = z.infer<typeof AliasDocumentSchema>;

/** GraphQL's Int: counts in a policy must be readable back through the API. */
const MAX_GRAPHQL_INT = 2_147_483_647;

/** Each rule optional; absent = not required. */
export const PromotionPolicySchema = z
  .object({
    requireApproval: z.boolean().optional(),
    minShadowRows: z.number().int().min(0).max(MAX_GRAPHQL_INT).optional(),
    minShadowAgreement: z.number().min(0).max(1).optional(),
    minRealizedPredictions: z.number().int().min(0).max(MAX_GRAPHQL_INT).optional(),
    minRealizedAccuracy: z.number().min(0).max(1).optional(),
    maxFeatureChanges: z.number().int().min(0).max(100_000).optional(),
    /** The dataset (shared/datasets/{name}) the evaluation rules read: its current file's evaluations. */
    evaluationDataset: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a dataset name is 1–64 of a-z 0-9 . _ -')
      .refine((n) => !n.includes('..'), 'a dataset name may not contain ".."')
      .optional(),
    /** The candidate's accuracy on evaluationDataset must be at least this (0–1). */
    minEvaluationAccuracy: z.number().min(0).max(1).optional(),
    /** The candidate's accuracy on evaluationDataset may be at most this far below production's (0–1, accuracy points). */
    maxAccuracyDropVsProduction: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine(
    (p) =>
      (p.minEvaluationAccuracy === undefined && p.maxAccuracyDropVsProduction === undefined) ||
      p.evaluationDataset !== undefined,
    {
      message: 'minEvaluationAccuracy and maxAccuracyDropVsProduction need evaluationDataset',
      path: ['evaluationDataset'],
    },
  );
export type PromotionPolicy = z.infer<typeof PromotionPolicySchema>;

export const PolicyRecordSchema = z.object({
  id: z.string(),
  model: z.string(),
  action: z.literal('SET_POLICY'),
  policy: PromotionPolicySchema,
  by: z.string(),
  at: z.string(),
  reason: z.string().nullable(),
  generation: z.number().int().positive(),
});
export type PolicyRecord = z.infer<typeof PolicyRecordSchema>;

/** `{model}/policy.json`. */
export const PolicyDocumentSchema = z.object({
  model: z.string(),
  policy: PromotionPolicySchema,
  generation: z.number().int().positive(),
  history: z.array(PolicyRecordSchema),
});
export type PolicyDocument = z.infer<typeof PolicyDocumentSchema>;
