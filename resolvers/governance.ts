import { modelRef } from '../src/graphql/mappers';
import * as z from 'zod';
import { BadUserInputError, VersionNotFoundError } from '../src/errors';
import type { Resolvers } from '../src/generated/resolvers-types';
import { requireScope, requireWrite, Scope } from '../src/graphql/auth';
import type { GraphQLContext } from '../src/graphql/context';
import type { VersionRef } from '../src/graphql/mappers';
import { AliasNameSchema } from '../src/registry/governance';
import { PromotionPolicySchema, type PromotionPolicy } from '../src/registry/governanceRecords';
import { parseArguments, parseModelId, parseVersion } from '../src/registry/identifiers';
import { versionDaily, versionTotals } from '../src/registry/performanceTracking';
import { diffFeatures } from '../src/registry/promotionPolicy';
import { parseGeneration, parseReason } from '../src/registry/reason';
import {
  cursorOf,
  matchesFilter,
  orderRows,
  pageAfter,
  type VersionFilterSpec,
  type VersionOrderSpec,
  type VersionRow,
} from '../src/registry/versionSearch';

const TagsInputSchema = z
  // zod's record skips a "__proto__" key without validating it: refused here, or its value would go unchecked
  // and the tag would silently vanish from an answer that says it was stored.
  .custom<unknown>(
    (t) => !(t !== null && typeof t === 'object' && Object.hasOwn(t, '__proto__')),
    'a tag key may not be "__proto__"',
  )
  .pipe(
    z.record(
      z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a tag key is 1–64 of A-Z a-z 0-9 _ . : -'),
      z
        .union([z.string(), z.number(), z.boolean()])
        .transform(String)
        .pipe(z.string().max(256, 'a tag value is at most 256 characters')),
    ),
  )
  .refine((t) => Object.keys(t).length <= 50, 'at most 50 tags');

const DescriptionSchema = z
  .string()
  .max(2000, 'a description is at most 2000 characters')
  .refine((d) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(d), 'a description may not contain control characters');

const noNulls = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v != null)) as { [K in keyof T]?: NonNullable<T[K]> };

const parseAlias = (alias: unknown) => parseArguments(z.object({ alias: AliasNameSchema }), { alias }).alias;

const versionKey = (model: string, version: string) => `${model}@${version}`;

/** The filter and order arguments, parsed; tags as strings like the stored ones. */
function parseSearch(args: {
  filter?: Record<string, unknown> | null;
  orderBy?: { field: string; direction?: string | null } | null;
  first?: number | null;
}) {
  const f = args.filter ?? {};
  const createdAfter = f.createdAfter == null ? null : new Date(f.createdAfter as string | Date).getTime();
  if (createdAfter !== null && Number.isNaN(createdAfter))
    throw new BadUserInputError('Invalid filter.createdAfter: not a date-time', { argument: 'filter.createdAfter' });
  const filter: VersionFilterSpec = {
    tags: f.tags == null ? null : parseArguments(TagsInputSchema, f.tags, 'filter.tags'),
    approval: (f.approval as VersionFilterSpec['approval']) ?? null,
    minAccuracy: (f.minAccuracy as number | null) ?? null,
    minRealizedAccuracy: (f.minRealizedAccuracy as number | null) ?? null,
    createdAfter,
  };
  const order: VersionOrderSpec = {
    field: (args.orderBy?.field as VersionOrderSpec['field']) ?? 'CREATED_AT',
    direction: args.orderBy?.direction === 'ASC' ? 'ASC' : 'DESC',
  };
  const first = args.first ?? 20;
  if (!Number.isInteger(first) || first < 0 || first > 200)
    throw new BadUserInputError('first must be from 0 to 200', { argument: 'first' });
  return { filter, order, first, model: f.model == null ? null : parseModelId(f.model) };
}

/** Rows (and the refs to answer with) for every version of `models`. */
async function versionRows(ctx: GraphQLContext, models: string[]): Promise<Array<VersionRow & { ref: VersionRef }>> {
  const { loaders } = ctx;
  const perf = await loaders.performanceDocument();
  const rows = await Promise.all(
    models.map(async (model) => {
      const names = await loaders.versions.load(model);
      return Promise.all(
        names.map(async (version) => {
          const key = versionKey(model, version);
          const [metadata, approval, tags] = await Promise.all([
            loaders.versionMetadata.load(key).catch((e: Error) => e),
            loaders.approval.load(key),
            loaders.tags.load(key),
          ]);
          // A folder without metadata.json is an unfinished upload, not a version.
          if (metadata instanceof Error) return [];
          const created = Date.parse(metadata.created ?? approval?.published_at ?? String(metadata.published_at ?? ''));
          const row: VersionRow & { ref: VersionRef } = {
            model,
            version,
            createdAt: Number.isNaN(created) ? null : created,
            accuracy: metadata.accuracy ?? null,
            realizedAccuracy: versionTotals(perf, model, version).accuracy,
            approval: approval?.status ?? 'PENDING',
            tags: tags?.tags ?? {},
            ref: { model, metadata },
          };
          return [row];
        }),
      );
    }),
  );
  return rows.flat(2);
}

/** Filter, order and page; the refs of the page. */
async function search(
  ctx: GraphQLContext,
  models: string[],
  args: Parameters<typeof parseSearch>[0] & { after?: string | null },
) {
  const { filter, order, first } = parseSearch(args);
  const rows = orderRows(
    (await versionRows(ctx, models)).filter((r) => matchesFilter(r, filter)),
    order,
  ) as Array<VersionRow & { ref: VersionRef }>;
  return pageAfter(rows, first, args.after) as {
    items: Array<VersionRow & { ref: VersionRef }>;
    hasNextPage: boolean;
    totalCount: number;
  };
}

/** `Model.versions` with any of filter/orderBy/first/after: a filtered, ordered page (see searchVersions). */
export async function searchModelVersions(
  ctx: GraphQLContext,
  model: string,
  args: Parameters<typeof search>[2],
): Promise<VersionRef[]> {
  return (await search(ctx, [model], args)).items.map((r) => r.ref);
}

/** A `VersionConnection` over the versions of `models`, filtered, ordered and paged. */
export async function versionConnection(ctx: GraphQLContext, models: string[], args: Parameters<typeof search>[2]) {
  const page = await search(ctx, models, args);
  return {
    edges: page.items.map((r) => ({ cursor: cursorOf(r), node: r.ref })),
    pageInfo: pageInfoOf(page, args.after),
    totalCount: page.totalCount,
  };
}

/** Relay page information of a page of version rows. */
function pageInfoOf(page: { items: VersionRow[]; hasNextPage: boolean }, after?: string | null) {
  return {
    hasNextPage: page.hasNextPage,
    hasPreviousPage: !!after,
    startCursor: page.items.length ? cursorOf(page.items[0]!) : null,
    endCursor: page.items.length ? cursorOf(page.items.at(-1)!) : null,
  };
}

function parsePolicy(input: Record<string, unknown>): PromotionPolicy {
  return parseArguments(PromotionPolicySchema, noNulls(input), 'policy');
}

export const governanceResolvers: Resolvers = {
  Query: {
    searchVersions: async (_parent, args, ctx) => {
      const { model } = parseSearch(args);
      const models = model ? [model] : (await ctx.runtime.registry.listModels()).map((m) => m.id);
      return versionConnection(ctx, models, args);
    },
    compareVersions: async (_parent, args, { runtime }) => {
      const model = parseModelId(args.model);
      const [a, b] = await Promise.all(
        [parseVersion(args.a), parseVersion(args.b)].map((v) => runtime.registry.versionMetadata(model, v)),
      );
      return { model, a, b };
    },
  },
  Mutation: {
    approveVersion: async (_parent, args, { runtime, caller }) => {
      requireScope(caller, Scope.APPROVE);
      const model = parseModelId(args.model);
      const version = parseVersion(args.version);
      const note = parseReason(args.note, 'note');
      const doc = await runtime.governance.decide({ model, version, status: 'APPROVED', by: caller.id, note });
      return { model, version, doc };
    },
    rejectVersion: async (_parent, args, { runtime, caller }) => {
      requireScope(caller, Scope.APPROVE);
      const model = parseModelId(args.model);
      const version = parseVersion(args.version);
      const note = parseReason(args.note, 'note');
      const doc = await runtime.governance.decide({ model, version, status: 'REJECTED', by: caller.id, note });
      return { model, version, doc };
    },
    setPromotionPolicy: async (_parent, args, { runtime, caller }) => {
      requireScope(caller, Scope.APPROVE);
      const model = parseModelId(args.model);
      const policy = parsePolicy(args.policy);
      const reason = parseReason(args.reason);
      await runtime.governance.setPolicy({ model, policy, by: caller.id, reason });
      return (await runtime.governance.policy(model))!.value;
    },
    setAlias: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const model = parseModelId(args.model);
      const alias = parseAlias(args.alias);
      const version = parseVersion(args.version);
      const reason = parseReason(args.reason);
      return runtime.governance.moveAlias({
        model,
        alias,
        version,
        by: caller.id,
        reason,
        expectedGeneration: parseGeneration(args.expectedGeneration),
      });
    },
    deleteAlias: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const model = parseModelId(args.model);
      const alias = parseAlias(args.alias);
      const reason = parseReason(args.reason);
      return runtime.governance.moveAlias({
        model,
        alias,
        version: null,
        by: caller.id,
        reason,
        expectedGeneration: parseGeneration(args.expectedGeneration),
      });
    },
    setVersionTags: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const model = parseModelId(args.model);
      const version = parseVersion(args.version);
      const tags = parseArguments(TagsInputSchema, args.tags, 'tags');
      const description =
        args.description == null ? undefined : parseArguments(DescriptionSchema, args.description, 'description');
      await runtime.governance.setTags({ model, version, tags, description, by: caller.id });
      return { model, metadata: await runtime.registry.versionMetadata(model, version) };
    },
  },
  Version: {
    approval: async (v, _args, { loaders }) => ({
      model: v.model,
      version: v.metadata.version,
      doc: await loaders.approval.load(versionKey(v.model, v.metadata.version)),
    }),
    tags: async (v, _args, { loaders }) =>
      (await loaders.tags.load(versionKey(v.model, v.metadata.version)))?.tags ?? {},
    description: async (v, _args, { loaders }) =>
      (await loaders.tags.load(versionKey(v.model, v.metadata.version)))?.description ?? v.metadata.description ?? null,
    metadata: (v) => v.metadata,
    lineage: async (v, _args, { loaders }) => ({
      metadata: v.metadata,
      approval: await loaders.approval.load(versionKey(v.model, v.metadata.version)),
    }),
    aliases: async (v, _args, { loaders }) =>
      (await loaders.aliases.load(v.model)).filter((a) => a.version === v.metadata.version).map((a) => a.alias),
  },
  Model: {
    policy: async (model, _args, { runtime }) => (await runtime.governance.policy(model.id))?.value ?? null,
    aliases: async (model, args, { loaders }) =>
      (await loaders.aliases.load(model.id)).filter((a) => args.includeDeleted || a.version !== null),
    alias: async (model, args, { runtime }) =>
      (await runtime.governance.alias(model.id, parseAlias(args.name)))?.value ?? null,
  },
  Approval: {
    status: (a) => a.doc?.status ?? 'PENDING',
    by: (a) => a.doc?.by ?? null,
    at: (a) => a.doc?.at ?? null,
    note: (a) => a.doc?.note ?? null,
    publishedBy: (a) => a.doc?.published_by ?? null,
    publishedAt: (a) => a.doc?.published_at ?? null,
    generation: (a) => a.doc?.generation ?? 0,
    history: (a) => a.doc?.history ?? [],
  },
  PromotionPolicy: {
    rules: (p) => p.policy,
    by: (p) => p.history.at(-1)!.by,
    at: (p) => p.history.at(-1)!.at,
    reason: (p) => p.history.at(-1)!.reason,
  },
  PolicyChange: {
    rules: (c) => c.policy,
  },
  PromotionRules: {
    requireApproval: (r) => r.requireApproval === true,
    minShadowRows: (r) => r.minShadowRows ?? null,
    minShadowAgreement: (r) => r.minShadowAgreement ?? null,
    minRealizedPredictions: (r) => r.minRealizedPredictions ?? null,
    minRealizedAccuracy: (r) => r.minRealizedAccuracy ?? null,
    maxFeatureChanges: (r) => r.maxFeatureChanges ?? null,
    evaluationDataset: (r) => r.evaluationDataset ?? null,
    minEvaluationAccuracy: (r) => r.minEvaluationAccuracy ?? null,
    maxAccuracyDropVsProduction: (r) => r.maxAccuracyDropVsProduction ?? null,
  },
  Alias: {
    name: (a) => a.alias,
    version: async (a, _args, { loaders }) => {
      if (a.version === null) return null;
      try {
        return { model: a.model, metadata: await loaders.versionMetadata.load(versionKey(a.model, a.version)) };
      } catch (err) {
        if (err instanceof VersionNotFoundError) return null;
        throw err;
      }
    },
    history: (a) => [...a.history].reverse(),
  },
  AliasMove: {
    model: (m) => modelRef(m.model),
    fromVersion: (m) => m.from,
    toVersion: (m) => m.to,
  },
  Lineage: {
    gitCommit: (l) => lineageField(l.metadata, 'git_commit'),
    sourceUri: (l) => lineageField(l.metadata, 'source_uri'),
    trainingDataSha256: (l) => lineageField(l.metadata, 'training_data_sha256'),
    trainingFrom: (l) => lineageField(l.metadata, 'training_from'),
    trainingTo: (l) => lineageField(l.metadata, 'training_to'),
    publishedBy: (l) => l.approval?.published_by ?? null,
    publishedAt: (l) => l.approval?.published_at ?? null,
  },
  VersionComparison: {
    a: (c) => ({ model: c.model, metadata: c.a }),
    b: (c) => ({ model: c.model, metadata: c.b }),
    featuresAdded: async (c, _args, { runtime }) => (await featureDiff(runtime, c)).added,
    featuresRemoved: async (c, _args, { runtime }) => (await featureDiff(runtime, c)).removed,
    featuresReordered: async (c, _args, { runtime }) => (await featureDiff(runtime, c)).reordered,
    labelsAdded: (c) => (c.b.strategies ?? []).filter((l) => !(c.a.strategies ?? []).includes(l)),
    labelsRemoved: (c) => (c.a.strategies ?? []).filter((l) => !(c.b.strategies ?? []).includes(l)),
    accuracyDelta: (c) => (c.a.accuracy != null && c.b.accuracy != null ? c.b.accuracy - c.a.accuracy : null),
    trainingSamplesDelta: (c) =>
      c.a.training_samples != null && c.b.training_samples != null ? c.b.training_samples - c.a.training_samples : null,
    realizedDaily: async (c, _args, { loaders }) => {
      const doc = await loaders.performanceDocument();
      const a = new Map(versionDaily(doc, c.model, c.a.version).map((d) => [d.date, d]));
      const b = new Map(versionDaily(doc, c.model, c.b.version).map((d) => [d.date, d]));
      return [...new Set([...a.keys(), ...b.keys()])]
        .sort()
        .map((date) => ({ date, a: a.get(date) ?? null, b: b.get(date) ?? null }));
    },
    shadowAgreement: async (c, _args, { runtime }) => {
      const pairs = await runtime.shadows.agreement(c.model);
      const [x, y] = [c.a.version, c.b.version];
      return (
        pairs.find((p) => p.productionVersion === x && p.stagingVersion === y) ??
        pairs.find((p) => p.productionVersion === y && p.stagingVersion === x) ??
        null
      );
    },
  },
};

function lineageField(metadata: VersionRef['metadata'], field: string): string | null {
  const lineage = (metadata as { lineage?: Record<string, unknown> }).lineage;
  const value = lineage?.[field];
  return typeof value === 'string' ? value : null;
}

const diffs = new WeakMap<object, ReturnType<typeof diffFeatures>>();
async function featureDiff(
  runtime: GraphQLContext['runtime'],
  c: { model: string; a: VersionRef['metadata']; b: VersionRef['metadata'] },
) {
  const known = diffs.get(c);
  if (known) return known;
  const [a, b] = await Promise.all([
    runtime.registry.featureNames(c.model, c.a),
    runtime.registry.featureNames(c.model, c.b),
  ]);
  const d = diffFeatures(a, b);
  diffs.set(c, d);
  return d;
}
