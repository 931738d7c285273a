import { BadUserInputError, VersionNotFoundError } from '../src/errors';
import type { Resolvers, ResolversInterfaceTypes } from '../src/generated/resolvers-types';
import type { GraphQLContext } from '../src/graphql/context';
import { fromGlobalId, NodeType, toGlobalId } from '../src/graphql/globalIds';
import { AliasNameSchema } from '../src/registry/governance';
import { modelTypeOf, parseArguments, parseModelId, parseTicker, parseVersion } from '../src/registry/identifiers';
import { readDeploymentHistory } from '../src/registry/modelRegistryFeed';
import * as z from 'zod';

type NodeRef = ResolversInterfaceTypes<Record<string, unknown>>['Node'];

/** Most ids one `nodes` call takes. */
const MAX_NODES = 100;

/** The type of each object `node` answered, for `Node.__resolveType`. */
const typeOfNode = new WeakMap<object, NodeType>();
const tagged = <T extends object>(type: NodeType, ref: T | null): T | null => {
  if (ref) typeOfNode.set(ref, type);
  return ref;
};

const isModelPrefix = (id: string) => id.includes('/');
const isDeploymentId = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

/**
 * A deployment by its UUID, which names no model: the newest 1,000 of all
 * models (one cached document), then each model's unarchived history (its
 * stage pointers, cached). Archived deployments are reached through
 * `Model.historyConnection`; reading every archive for one id would let one
 * request read the whole bucket's history.
 */
async function deploymentById(ctx: GraphQLContext, id: string) {
  const recent = (await readDeploymentHistory(ctx.runtime.store)).find((d) => d.id === id);
  if (recent) return recent;
  for (const model of await ctx.runtime.registry.listModels()) {
    const found = (await ctx.runtime.deployments.history(model.id, 0)).find((d) => d.id === id);
    if (found) return found;
  }
  return null;
}

async function versionRef(ctx: GraphQLContext, model: string, version: string) {
  try {
    return { model, metadata: await ctx.loaders.versionMetadata.load(`${model}@${version}`) };
  } catch (err) {
    if (err instanceof VersionNotFoundError) return null;
    throw err;
  }
}

async function modelRef(ctx: GraphQLContext, model: string) {
  return (await ctx.runtime.registry.modelExists(model)) ? { id: model, type: modelTypeOf(model)! } : null;
}

/** The object a global id names, or null when it no longer exists. */
async function resolveNode(ctx: GraphQLContext, id: string): Promise<NodeRef | null> {
  if (isModelPrefix(id)) return tagged(NodeType.Model, await modelRef(ctx, parseModelId(id)));
  if (isDeploymentId(id)) return tagged(NodeType.Deployment, await deploymentById(ctx, id.toLowerCase()));
  const { type, parts } = fromGlobalId(id);
  const [first = '', second = ''] = parts;
  const { runtime, loaders } = ctx;
  switch (type) {
    case NodeType.Asset:
      return tagged(type, (await runtime.registry.assetDirectory()).byTicker.get(parseTicker(first)) ?? null);
    case NodeType.Model:
      return tagged(type, await modelRef(ctx, parseModelId(first)));
    case NodeType.Version:
      return tagged(type, await versionRef(ctx, parseModelId(first), parseVersion(second)));
    case NodeType.Approval: {
      const [model, version] = [parseModelId(first), parseVersion(second)];
      if (!(await versionRef(ctx, model, version))) return null;
      return tagged(type, { model, version, doc: await loaders.approval.load(`${model}@${version}`) });
    }
    case NodeType.Deployment:
      // A deployment's global id is its UUID (above): no opaque form is ever answered.
      return null;
    case NodeType.Alias: {
      const alias = parseArguments(z.object({ alias: AliasNameSchema }), { alias: second }).alias;
      return tagged(type, (await runtime.governance.alias(parseModelId(first), alias))?.value ?? null);
    }
    case NodeType.PromotionPolicy:
      return tagged(type, (await runtime.governance.policy(parseModelId(first)))?.value ?? null);
  }
}

/** `node`, `nodes`, and the `id` of every type that implements Node: the id scheme lives in one place. */
export const nodeResolvers: Resolvers = {
  Query: {
    node: (_parent, args, ctx) => resolveNode(ctx, args.id),
    nodes: async (_parent, args, ctx) => {
      if (args.ids.length > MAX_NODES) throw new BadUserInputError(`At most ${MAX_NODES} ids`, { argument: 'ids' });
      return Promise.all(args.ids.map((id) => resolveNode(ctx, id)));
    },
  },
  Node: {
    __resolveType: (ref) => typeOfNode.get(ref)!,
  },
  Asset: { id: (a) => toGlobalId(NodeType.Asset, a.ticker) },
  Model: { id: (m) => m.id },
  Version: { id: (v) => toGlobalId(NodeType.Version, v.model, v.metadata.version) },
  Deployment: { deploymentId: (d) => d.id },
  Approval: { id: (a) => toGlobalId(NodeType.Approval, a.model, a.version) },
  Alias: { id: (a) => toGlobalId(NodeType.Alias, a.model, a.alias) },
  PromotionPolicy: { id: (p) => toGlobalId(NodeType.PromotionPolicy, p.model) },
};
