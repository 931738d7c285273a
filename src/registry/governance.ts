import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { BadUserInputError, ConflictError, ForbiddenError, ModelNotFoundError } from '../errors';
import { replacing, type ObjectStore } from '../storage/objectStore';
import { ObjectNotFoundError, PreconditionFailedError } from '../storage/errors';
import { aliasKey, aliasesPrefix, approvalKey, promotionPolicyKey, versionTagsKey } from './bucketLayout';
import { retryCompareAndSwap } from './compareAndSwap';
import {
  AliasDocumentSchema,
  ApprovalDocumentSchema,
  PolicyDocumentSchema,
  VersionTagsDocumentSchema,
  type AliasDocument,
  type AliasRecord,
  type ApprovalDocument,
  type ApprovalRecord,
  type ApprovalStatus,
  type PolicyDocument,
  type PolicyRecord,
  type PromotionPolicy,
  type VersionTagsDocument,
} from './governanceRecords';
import type { Registry, Versioned } from './registry';
import { parseJsonDocument } from './versionMetadata';

/** Called after every successful write of a governance document, with its key (events, caches). */
export type GovernanceListener = (key: string) => void;

export const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
/** Stage names are not aliases. */
export const RESERVED_ALIASES = new Set(['production', 'staging']);

export const AliasNameSchema = z
  .string()
  .regex(ALIAS_NAME, 'an alias is 1–63 characters: a-z, 0-9, "_" or "-", starting with a letter')
  .refine((a) => !RESERVED_ALIASES.has(a), 'production and staging are stages, not aliases');

/** The governance rule a refusal names (FORBIDDEN's `rule`). */
export const FOUR_EYES = 'FOUR_EYES';

/**
 * The mutable side of a model's versions, beside the immutable version
 * folders: approvals (with the version's publisher), tags, aliases and the
 * promotion policy. Each document is replaced with compare-and-swap and
 * carries its own history, written in the same PUT as the change. Reads here
 * go to S3 (no cache): they are the base of a compare-and-swap or of a check.
 */
export class Governance {
  private readonly listeners: GovernanceListener[] = [];

  constructor(private readonly registry: Registry) {}

  private get store(): ObjectStore {
    return this.registry.store;
  }

  addListener(listener: GovernanceListener): void {
    this.listeners.push(listener);
  }

  private written(key: string): void {
    for (const l of this.listeners) {
      try {
        l(key);
      } catch {
        // A listener never fails the change it hears about.
      }
    }
  }

  private async read<T>(schema: z.ZodType<T>, key: string): Promise<Versioned<T> | null> {
    const got = await this.store.getIfExists(key);
    return got ? { value: parseJsonDocument(schema, got.body, key), etag: got.etag } : null;
  }

  /**
   * Writes `doc` If-Match `base`'s ETag (If-None-Match: * without one). A lost
   * answer whose retry then failed its own precondition is recognised by the
   * record id in the stored history; any other precondition failure is CONFLICT.
   */
  private async swap<T extends { history: Array<{ id: string }> }>(
    schema: z.ZodType<T>,
    key: string,
    doc: T,
    base: Versioned<T> | null,
    what: string,
  ): Promise<T> {
    try {
      await this.store.put(key, JSON.stringify(doc, null, 2), {
        contentType: 'application/json',
        ...replacing(base?.etag),
      });
    } catch (err) {
      if (!(err instanceof PreconditionFailedError || err instanceof ObjectNotFoundError)) throw err;
      const id = doc.history.at(-1)!.id;
      const landed = await this.read(schema, key).catch(() => null);
      if (!landed?.value.history.some((r) => r.id === id)) {
        throw new ConflictError(
          `${what} changed while this change was in flight; nothing was changed — read it again and retry`,
          { key },
          { cause: err },
        );
      }
    }
    this.written(key);
    return doc;
  }

  // ---- approvals ---------------------------------------------------------

  async approval(model: string, version: string): Promise<Versioned<ApprovalDocument> | null> {
    return this.read(ApprovalDocumentSchema, approvalKey(model, version));
  }

  /**
   * Records that the API registered `model@version`, published by the
   * authenticated principal `by`: the approval document starts PENDING. Once
   * only (If-None-Match: *); an existing document is CONFLICT.
   */
  async register(model: string, version: string, by: string, at = new Date().toISOString()): Promise<ApprovalDocument> {
    const record: ApprovalRecord = {
      id: randomUUID(),
      action: 'REGISTER',
      status: 'PENDING',
      by,
      at,
      note: null,
      generation: 1,
    };
    const doc: ApprovalDocument = {
      model,
      version,
      status: 'PENDING',
      by: null,
      at: null,
      note: null,
      published_by: by,
      published_at: at,
      generation: 1,
      history: [record],
    };
    return this.swap(
      ApprovalDocumentSchema,
      approvalKey(model, version),
      doc,
      null,
      `The approval of ${model}@${version}`,
    );
  }

  /**
   * APPROVED or REJECTED by `by`. Four eyes: the version's publisher may not
   * decide on it (FORBIDDEN, rule FOUR_EYES). A version registered outside the
   * API has no known publisher and cannot be decided on until registerVersion
   * records one.
   */
  async decide(req: {
    model: string;
    version: string;
    status: Exclude<ApprovalStatus, 'PENDING'>;
    by: string;
    note: string | null;
  }): Promise<ApprovalDocument> {
    await this.registry.versionMetadata(req.model, req.version); // VERSION_NOT_FOUND first
    const current = await this.approval(req.model, req.version);
    if (!current) {
      throw ForbiddenError.byRule(
        FOUR_EYES,
        `${req.model}@${req.version} was not registered through the API, so its publisher is unknown and four eyes cannot be checked: register it with registerVersion (or modelgraph register) first`,
        { model: req.model, version: req.version },
      );
    }
    const doc = current.value;
    if (doc.published_by === req.by) {
      throw ForbiddenError.byRule(
        FOUR_EYES,
        `Four eyes: ${req.by} published ${req.model}@${req.version} and may not ${req.status === 'APPROVED' ? 'approve' : 'reject'} it; another principal must`,
        { model: req.model, version: req.version, publishedBy: doc.published_by },
      );
    }
    if (doc.status === req.status) {
      throw new BadUserInputError(`${req.model}@${req.version} is already ${req.status} (by ${doc.by} at ${doc.at})`, {
        model: req.model,
        version: req.version,
      });
    }
    const generation = doc.generation + 1;
    const at = new Date().toISOString();
    const record: ApprovalRecord = {
      id: randomUUID(),
      action: req.status === 'APPROVED' ? 'APPROVE' : 'REJECT',
      status: req.status,
      by: req.by,
      at,
      note: req.note,
      generation,
    };
    const next: ApprovalDocument = {
      ...doc,
      status: req.status,
      by: req.by,
      at,
      note: req.note,
      generation,
      history: [...doc.history, record],
    };
    return this.swap(
      ApprovalDocumentSchema,
      approvalKey(req.model, req.version),
      next,
      current,
      `The approval of ${req.model}@${req.version}`,
    );
  }

  // ---- tags ----------------------------------------------------------------

  async tags(model: string, version: string): Promise<VersionTagsDocument | null> {
    return (await this.read(VersionTagsDocumentSchema, versionTagsKey(model, version)))?.value ?? null;
  }

  /** Replaces a version's tags (and description, when given), retrying on a concurrent change: the last writer's tags stand, every change is in the history. */
  async setTags(req: {
    model: string;
    version: string;
    tags: Record<string, string>;
    description?: string | null;
    by: string;
  }): Promise<VersionTagsDocument> {
    await this.registry.versionMetadata(req.model, req.version);
    const key = versionTagsKey(req.model, req.version);
    return retryCompareAndSwap(
      5,
      async () => {
        const current = await this.read(VersionTagsDocumentSchema, key);
        const generation = (current?.value.generation ?? 0) + 1;
        const description = req.description === undefined ? (current?.value.description ?? null) : req.description;
        const record = {
          id: randomUUID(),
          by: req.by,
          at: new Date().toISOString(),
          generation,
          tags: req.tags,
          description,
        };
        const doc: VersionTagsDocument = {
          model: req.model,
          version: req.version,
          tags: req.tags,
          description,
          generation,
          history: [...(current?.value.history ?? []), record],
        };
        await this.store.put(key, JSON.stringify(doc, null, 2), {
          contentType: 'application/json',
          ...replacing(current?.etag),
        });
        this.written(key);
        return doc;
      },
      () =>
        new ConflictError(`The tags of ${req.model}@${req.version} kept changing; nothing was changed — retry`, {
          model: req.model,
          version: req.version,
        }),
    );
  }

  // ---- aliases ---------------------------------------------------------------

  async alias(model: string, alias: string): Promise<Versioned<AliasDocument> | null> {
    return this.read(AliasDocumentSchema, aliasKey(model, alias));
  }

  /** Every alias document of a model (deleted ones included: version null), by name. */
  async aliases(model: string): Promise<AliasDocument[]> {
    const keys = (await this.store.listKeys(aliasesPrefix(model))).filter((k) => k.endsWith('.json'));
    const docs = await Promise.all(keys.map((k) => this.read(AliasDocumentSchema, k)));
    return docs.flatMap((d) => (d ? [d.value] : [])).sort((a, b) => a.alias.localeCompare(b.alias));
  }

  /**
   * Points `alias` at `version` (or, with version null, deletes it):
   * compare-and-swap on the alias document, like a stage pointer. Of two
   * concurrent moves one wins; the other is CONFLICT and changes nothing.
   */
  async moveAlias(req: {
    model: string;
    alias: string;
    version: string | null;
    by: string;
    reason: string | null;
    /** The alias document's generation the caller saw (0: none yet); CONFLICT if it moved. */
    expectedGeneration?: number | null;
  }): Promise<AliasRecord> {
    if (req.version !== null) await this.registry.versionMetadata(req.model, req.version);
    else await this.registry.requireModel(req.model);
    const key = aliasKey(req.model, req.alias);
    const current = await this.alias(req.model, req.alias);
    if (req.version === null && !current?.value.version) {
      throw new BadUserInputError(`${req.model} has no alias "${req.alias}"`, { model: req.model, alias: req.alias });
    }
    if (req.expectedGeneration != null && (current?.value.generation ?? 0) !== req.expectedGeneration) {
      throw new ConflictError(
        `Alias "${req.alias}" of ${req.model} is at generation ${current?.value.generation ?? 0}, not the expected ${req.expectedGeneration}: it moved since you read it; nothing was changed`,
        { model: req.model, alias: req.alias, generation: current?.value.generation ?? 0 },
      );
    }
    const generation = (current?.value.generation ?? 0) + 1;
    const record: AliasRecord = {
      id: randomUUID(),
      model: req.model,
      alias: req.alias,
      action: req.version === null ? 'DELETE' : 'SET',
      from: current?.value.version ?? null,
      to: req.version,
      by: req.by,
      at: new Date().toISOString(),
      reason: req.reason,
      generation,
    };
    const doc: AliasDocument = {
      model: req.model,
      alias: req.alias,
      version: req.version,
      generation,
      history: [...(current?.value.history ?? []), record],
    };
    await this.swap(AliasDocumentSchema, key, doc, current, `Alias "${req.alias}" of ${req.model}`);
    this.registry.forget(key); // this process serves the move at once
    return record;
  }

  // ---- promotion policy -------------------------------------------------------

  async policy(model: string): Promise<Versioned<PolicyDocument> | null> {
    return this.read(PolicyDocumentSchema, promotionPolicyKey(model));
  }

  /** Replaces the model's promotion policy: compare-and-swap, recorded in the policy's history. */
  async setPolicy(req: {
    model: string;
    policy: PromotionPolicy;
    by: string;
    reason: string | null;
  }): Promise<PolicyRecord> {
    if (!(await this.registry.modelExists(req.model))) throw new ModelNotFoundError(req.model);
    const key = promotionPolicyKey(req.model);
    const current = await this.policy(req.model);
    const generation = (current?.value.generation ?? 0) + 1;
    const record: PolicyRecord = {
      id: randomUUID(),
      model: req.model,
      action: 'SET_POLICY',
      policy: req.policy,
      by: req.by,
      at: new Date().toISOString(),
      reason: req.reason,
      generation,
    };
    const doc: PolicyDocument = {
      model: req.model,
      policy: req.policy,
      generation,
      history: [...(current?.value.history ?? []), record],
    };
    await this.swap(PolicyDocumentSchema, key, doc, current, `The promotion policy of ${req.model}`);
    return record;
  }
}
