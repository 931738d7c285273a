import { modelRef } from '../src/graphql/mappers';
import type { Resolvers } from '../src/generated/resolvers-types';
import { connectionByKey, pageSize, type PageArgs } from '../src/graphql/connections';
import type { Runtime } from '../src/runtime';
import { requireScope, requireWrite, Scope } from '../src/graphql/auth';
import { governanceGate } from '../src/release/promotionGate';
import { parseModelId, parseVersion } from '../src/registry/identifiers';
import { BadUserInputError } from '../src/errors';
import { parseGeneration, parseReason } from '../src/registry/reason';

const DEPLOYMENT_PAGES = { defaultFirst: 20, maxFirst: 500 };

/** A page of a model's deployments, newest first, keyed by deployment id. */
export async function deploymentPage(runtime: Runtime, model: string, args: PageArgs) {
  const first = pageSize(args, DEPLOYMENT_PAGES);
  // Without a cursor only the newest `first` (and one more, for hasNextPage) are read: archived history stays unread.
  const all = await runtime.deployments.history(model, args.after ? Number.POSITIVE_INFINITY : first + 1);
  return connectionByKey(all, (d) => d.id, args, DEPLOYMENT_PAGES);
}

export const deploymentResolvers: Resolvers = {
  Query: {
    deployments: async (_parent, args, { runtime }) => {
      const model = parseModelId(args.model);
      await runtime.registry.requireModel(model);
      const first = Math.min(Math.max(args.first ?? 20, 0), 500);
      // Without a cursor only the newest `first` are needed (archived history stays unread).
      const all = await runtime.deployments.history(model, args.after ? Number.POSITIVE_INFINITY : first);
      const start = args.after ? all.findIndex((d) => d.id === args.after) + 1 : 0;
      if (args.after && start === 0)
        throw new BadUserInputError(`No deployment with id "${args.after}" in ${model}`, { argument: 'after' });
      return all.slice(start, start + first);
    },
    deploymentsConnection: async (_parent, args, { runtime }) => {
      const model = parseModelId(args.model);
      await runtime.registry.requireModel(model);
      return deploymentPage(runtime, model, args);
    },
  },
  Mutation: {
    promote: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const model = parseModelId(args.model);
      const version = parseVersion(args.version);
      const reason = parseReason(args.reason);
      const override = args.override === true;
      if (override) {
        requireScope(caller, Scope.APPROVE);
        if (!reason) throw new BadUserInputError('An override needs a reason', { argument: 'reason' });
      }
      const { record } = await runtime.deployments.promote({
        model,
        version,
        stage: args.stage ?? 'PRODUCTION',
        by: caller.id,
        reason,
        expectedGeneration: parseGeneration(args.expectedGeneration),
        gate: governanceGate(runtime, { override }),
      });
      return record;
    },
    rollback: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const model = parseModelId(args.model);
      const to = args.to == null ? null : parseVersion(args.to);
      const reason = parseReason(args.reason);
      const { record } = await runtime.deployments.rollback({
        model,
        to,
        stage: args.stage ?? 'PRODUCTION',
        by: caller.id,
        reason,
        expectedGeneration: parseGeneration(args.expectedGeneration),
        gate: governanceGate(runtime, { override: false }),
      });
      return record;
    },
  },
  Deployment: {
    model: (d) => modelRef(d.model),
    fromVersion: (d) => d.from,
    toVersion: (d) => d.to,
    override: (d) => d.override === true,
    violations: (d) => d.violations ?? [],
    approval: (d) => d.approval?.status ?? null,
  },
};
