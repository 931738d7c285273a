import * as z from 'zod';
import { ConflictError, InvalidModelError } from '../errors';
import { replacing, type ObjectStore } from '../storage/objectStore';
import { DEPLOYMENT_HISTORY_KEY, MODEL_REGISTRY_KEY, stagePointerKey } from './bucketLayout';
import { retryCompareAndSwap } from './compareAndSwap';
import type { DeploymentListener, DeploymentResult } from './deployments';
import { modelTypeOf, Stage, type ModelType } from './identifiers';
import type { Registry } from './registry';
import {
  DeploymentRecordSchema,
  parseJsonDocument,
  StagePointerSchema,
  type DeploymentRecord,
  type StagePointer,
} from './versionMetadata';

/**
 * Keeps two bucket-wide documents in step with the stage pointers (which stay
 * the source of truth):
 *
 * - `metadata/model_registry.json`: `{ models: { "etfs/SPY": { type, production, staging } }, last_updated }`,
 *   each stage `{ version, generation, promoted_at, promoted_by }` or null. A stage
 *   entry is replaced only by a GREATER generation, so retried or out-of-order
 *   updates converge on the newest pointer.
 * - `metadata/deployment_history.json`: `{ deployments: [record, … oldest first], last_updated }`,
 *   one entry per record id, the newest DEPLOYMENT_HISTORY_MAX kept.
 *
 * Both are read-modify-write with compare-and-swap (If-Match the ETag read,
 * If-None-Match: * when missing; on 412/404 re-read and re-apply with jittered
 * backoff, at most `maxAttempts` times, then CONFLICT), so concurrent promotions
 * of different models lose nothing. Unknown fields of the documents survive.
 */

/** Entries kept in metadata/deployment_history.json (the newest). */
export const DEPLOYMENT_HISTORY_MAX = 1_000;

/** What model_registry.json records of one stage: the pointer's version and generation. */
export const RegistryStageEntrySchema = z.looseObject({
  version: z.string(),
  generation: z.number().int().positive(),
  promoted_at: z.string(),
  promoted_by: z.string(),
});
export type RegistryStageEntry = z.infer<typeof RegistryStageEntrySchema>;

export const ModelRegistryEntrySchema = z.looseObject({
  type: z.string().optional(),
  production: RegistryStageEntrySchema.nullable().optional(),
  staging: RegistryStageEntrySchema.nullable().optional(),
});
export type ModelRegistryEntry = z.infer<typeof ModelRegistryEntrySchema>;

/** model_registry.json; entries are checked one by one (a bad one is replaced on its model's next update). */
const ModelRegistryDocumentSchema = z.looseObject({
  models: z.record(z.string(), z.unknown()),
  last_updated: z.string().optional(),
});
export type ModelRegistryDocument = z.infer<typeof ModelRegistryDocumentSchema>;

const FeedRecordSchema = DeploymentRecordSchema.refine((r) => modelTypeOf(r.model) !== undefined, {
  message: 'not a model id',
  path: ['model'],
});

const DeploymentHistoryDocumentSchema = z.looseObject({
  deployments: z.array(z.unknown()),
  last_updated: z.string().optional(),
});
export type DeploymentHistoryDocument = z.infer<typeof DeploymentHistoryDocumentSchema>;

export interface ModelRegistryFeedOptions {
  /** Read-modify-write attempts per document before giving up with CONFLICT (default 12). */
  maxAttempts?: number;
  now?: () => Date;
}

/**
 * The deployment listener that keeps model_registry.json and
 * deployment_history.json in step (see above). Both documents are updated; if
 * either fails, it throws after both were tried (Deployments reports it as a
 * warning; the pointer moved regardless).
 */
export function modelRegistryFeed(registry: Registry, opts: ModelRegistryFeedOptions = {}): DeploymentListener {
  return async (result) => {
    const outcomes = await Promise.allSettled([
      updateModelRegistry(registry, result, opts),
      appendDeploymentHistory(registry.store, result.record, opts),
    ]);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  };
}

/** Records one pointer move in model_registry.json. Answers whether it wrote (false: it already held that generation or a newer one). */
export async function updateModelRegistry(
  registry: Registry,
  result: DeploymentResult,
  opts: ModelRegistryFeedOptions = {},
): Promise<boolean> {
  return updateModelRegistryMany(registry, [result], opts);
}

/**
 * Records many pointer moves (e.g. the current pointers of a catch-up) in
 * model_registry.json with ONE compare-and-swap: each applied as
 * updateModelRegistry would (a stage entry replaced only by a greater
 * generation). Answers whether it wrote.
 */
export async function updateModelRegistryMany(
  registry: Registry,
  results: readonly DeploymentResult[],
  opts: ModelRegistryFeedOptions = {},
): Promise<boolean> {
  if (results.length === 0) return false;
  const now = opts.now ?? (() => new Date());
  const applyAll = (doc: ModelRegistryDocument) =>
    results.reduce<ModelRegistryDocument | null>((acc, r) => applyToModelRegistry(acc ?? doc, r, now()) ?? acc, null);
  return compareAndSwap(registry.store, MODEL_REGISTRY_KEY, opts, async (body) => {
    const stored = readModelRegistryForUpdate(body);
    if (!stored.rebuild) return applyAll(stored.doc);
    // The rebuilt models may already hold these moves (the pointers were read after them): written either way.
    const rebuilt: ModelRegistryDocument = {
      ...stored.doc,
      models: await currentModelStages(registry, results[0].record.model),
      last_updated: now().toISOString(),
    };
    return applyAll(rebuilt) ?? rebuilt;
  });
}

/** Appends one deployment to deployment_history.json. Answers whether it wrote (false: the record was there already). */
export async function appendDeploymentHistory(
  store: ObjectStore,
  record: DeploymentRecord,
  opts: ModelRegistryFeedOptions = {},
): Promise<boolean> {
  return appendDeploymentHistoryMany(store, [record], opts);
}

/** Appends many deployments (those not there yet) to deployment_history.json with ONE compare-and-swap. */
export async function appendDeploymentHistoryMany(
  store: ObjectStore,
  records: readonly DeploymentRecord[],
  opts: ModelRegistryFeedOptions = {},
): Promise<boolean> {
  if (records.length === 0) return false;
  return compareAndSwap(store, DEPLOYMENT_HISTORY_KEY, opts, async (body) => {
    const doc = readDeploymentHistoryForUpdate(body);
    return applyManyToDeploymentHistory(doc, records, (opts.now ?? (() => new Date()))());
  });
}

/**
 * model_registry.json with one pointer move applied (pure), or null when it
 * changes nothing: the stored stage already has this generation or a newer one.
 */
export function applyToModelRegistry(
  doc: ModelRegistryDocument,
  result: DeploymentResult,
  now: Date,
): ModelRegistryDocument | null {
  const { model, stage } = result.record;
  const field = stage === Stage.PRODUCTION ? 'production' : 'staging';
  const incoming = stageEntryOf(result.pointer);
  const parsed = ModelRegistryEntrySchema.safeParse(doc.models[model]);
  const entry: ModelRegistryEntry = parsed.success ? parsed.data : {};
  const stored = entry[field];
  if (stored && stored.generation >= incoming.generation) return null;
  const next = structuredClone(doc);
  next.models[model] = {
    ...entry,
    type: modelTypeOf(model) ?? entry.type,
    production: entry.production ?? null,
    staging: entry.staging ?? null,
    [field]: incoming,
  };
  next.last_updated = now.toISOString();
  return next;
}

/**
 * deployment_history.json with one record added (pure), or null when a record
 * with its id is there already. Kept oldest first (by `at`), the newest
 * DEPLOYMENT_HISTORY_MAX; entries that are not deployment records are dropped.
 */
export function applyToDeploymentHistory(
  doc: DeploymentHistoryDocument,
  record: DeploymentRecord,
  now: Date,
): DeploymentHistoryDocument | null {
  return applyManyToDeploymentHistory(doc, [record], now);
}

/** deployment_history.json with the records whose ids it lacks added (pure), or null when it has them all. */
export function applyManyToDeploymentHistory(
  doc: DeploymentHistoryDocument,
  records: readonly DeploymentRecord[],
  now: Date,
): DeploymentHistoryDocument | null {
  const entries = doc.deployments.filter((d) => FeedRecordSchema.safeParse(d).success) as DeploymentRecord[];
  const ids = new Set(entries.map((d) => d.id));
  const added = records.filter((r) => !ids.has(r.id) && (ids.add(r.id), true));
  if (added.length === 0) return null;
  entries.push(...added);
  entries.sort((a, b) => (a.at === b.at ? 0 : a.at < b.at ? -1 : 1)); // stable: equal times keep arrival order
  const kept = entries.slice(-DEPLOYMENT_HISTORY_MAX);
  // Records older than the newest DEPLOYMENT_HISTORY_MAX (a catch-up of old history) change nothing.
  if (added.length > 1 && !kept.some((d) => added.includes(d))) return null;
  return { ...doc, deployments: kept, last_updated: now.toISOString() };
}

function stageEntryOf(pointer: StagePointer): RegistryStageEntry {
  return {
    version: pointer.version,
    generation: pointer.generation,
    promoted_at: pointer.promoted_at,
    promoted_by: pointer.promoted_by,
  };
}

/**
 * The stored document. Missing, not JSON, or of another shape (e.g. `models` as
 * an array, as older seeds wrote it): `rebuild`, keeping its other top-level
 * fields; `models` is then rebuilt in the object form from the stage pointers.
 */
function readModelRegistryForUpdate(body: Buffer | undefined): { doc: ModelRegistryDocument; rebuild: boolean } {
  const raw = body ? parseJsonOrUndefined(body) : undefined;
  const result = ModelRegistryDocumentSchema.safeParse(raw);
  if (result.success) return { doc: result.data, rebuild: false };
  return { doc: { ...(isPlainObject(raw) ? raw : {}), models: {} }, rebuild: true };
}

function readDeploymentHistoryForUpdate(body: Buffer | undefined): DeploymentHistoryDocument {
  const raw = body ? parseJsonOrUndefined(body) : undefined;
  const result = DeploymentHistoryDocumentSchema.safeParse(raw);
  if (result.success) return result.data;
  return isPlainObject(raw) ? ({ ...raw, deployments: [] } as DeploymentHistoryDocument) : { deployments: [] };
}

/**
 * Every model's current stages, read from the pointers themselves (not the
 * cache): the base when model_registry.json is missing or of an older shape,
 * so the rebuilt document lists models promoted before it existed.
 */
async function currentModelStages(registry: Registry, moved: string): Promise<Record<string, ModelRegistryEntry>> {
  // Model folders only (a model without a folder has no pointer): Registry.listModels
  // would also read, and cache, the asset registry.
  const ids = new Set([moved, ...(await registry.modelFolderIds())]);
  const models = [...ids].sort().flatMap((id) => {
    const type = modelTypeOf(id);
    return type ? [{ id, type }] : [];
  });
  const out: Record<string, ModelRegistryEntry> = {};
  const read = async (model: string, stage: Stage): Promise<RegistryStageEntry | null> => {
    const key = stagePointerKey(model, stage);
    try {
      const got = await registry.store.getIfExists(key);
      return got ? stageEntryOf(parseJsonDocument(StagePointerSchema, got.body, key)) : null;
    } catch {
      return null; // an unreadable pointer is left out; its next move records it
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < models.length) {
      const { id, type } = models[next++];
      const [production, staging] = await Promise.all([read(id, Stage.PRODUCTION), read(id, Stage.STAGING)]);
      if (production || staging) out[id] = { type, production, staging };
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, models.length) }, worker));
  return out;
}

/**
 * Read-modify-write of one JSON document with compare-and-swap, as
 * registerAsset does it. `apply` answers the new document or null for "no
 * change" (nothing is written). Answers whether it wrote.
 */
async function compareAndSwap<T>(
  store: ObjectStore,
  key: string,
  opts: ModelRegistryFeedOptions,
  apply: (body: Buffer | undefined) => Promise<T | null>,
): Promise<boolean> {
  const maxAttempts = opts.maxAttempts ?? 12;
  return retryCompareAndSwap(
    maxAttempts,
    async () => {
      const current = await store.getIfExists(key);
      const next = await apply(current?.body);
      if (next === null) return false;
      await store.put(key, JSON.stringify(next, null, 2), {
        contentType: 'application/json',
        ...replacing(current?.etag),
      });
      return true;
    },
    () =>
      new ConflictError(
        `${key} kept changing (${maxAttempts} attempts); it was not updated — the stage pointers are unaffected`,
        { key },
      ),
  );
}

function parseJsonOrUndefined(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- Reading (GraphQL) ----

/** One model as model_registry.json records it. */
export interface ModelRegistryView {
  model: string;
  type: ModelType;
  production: RegistryStageEntry | null;
  staging: RegistryStageEntry | null;
}

/**
 * The models of metadata/model_registry.json, by id. Missing, or of an older
 * shape (`models` not an object): none. Not JSON, or an entry that is not a
 * model id or not of the entry shape: INVALID_MODEL.
 */
export async function readModelRegistry(store: ObjectStore): Promise<ModelRegistryView[]> {
  const got = await store.getIfExists(MODEL_REGISTRY_KEY);
  if (!got) return [];
  const raw = parseJsonDocument(z.unknown(), got.body, MODEL_REGISTRY_KEY);
  const doc = ModelRegistryDocumentSchema.safeParse(raw);
  if (!doc.success) return [];
  const out: ModelRegistryView[] = [];
  for (const [model, value] of Object.entries(doc.data.models)) {
    const type = modelTypeOf(model);
    const entry = ModelRegistryEntrySchema.safeParse(value);
    if (!type || !entry.success) {
      throw new InvalidModelError(
        `${MODEL_REGISTRY_KEY} is malformed: models.${model}: ${type ? 'not a registry entry' : 'not a model id'}`,
        {
          key: MODEL_REGISTRY_KEY,
        },
      );
    }
    out.push({ model, type, production: entry.data.production ?? null, staging: entry.data.staging ?? null });
  }
  return out.sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
}

/** The deployments of metadata/deployment_history.json, newest first (missing: none; malformed: INVALID_MODEL). */
export async function readDeploymentHistory(store: ObjectStore): Promise<DeploymentRecord[]> {
  const got = await store.getIfExists(DEPLOYMENT_HISTORY_KEY);
  if (!got) return [];
  const doc = parseJsonDocument(
    z.looseObject({ deployments: z.array(FeedRecordSchema) }),
    got.body,
    DEPLOYMENT_HISTORY_KEY,
  );
  return [...doc.deployments].sort((a, b) => (a.at === b.at ? b.generation - a.generation : b.at < a.at ? -1 : 1));
}
