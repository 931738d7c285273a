import type { Resolvers } from '../src/generated/resolvers-types';
import { requireWrite } from '../src/graphql/auth';
import { modelTypeOf, parseModelId, parseVersion } from '../src/registry/identifiers';
import { BadUserInputError } from '../src/errors';

const MAX_REASON = 500;

export function parseReason(reason: string | null | undefined): string | null {
  if (reason == null) return null;
  if (reason.length > MAX_REASON || /[\u0000-\u001f\u007f]/.test(reason.replace(/[\n\t]/g, ' '))) {
    throw new BadUserInputError(`reason must be at most ${MAX_REASON} printable characters`, { argument: 'reason' });
  }
  return reason;
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
  },
  Mutation: {
    promote: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const model = parseModelId(args.model);
      const version = parseVersion(args.version);
      const reason = parseReason(args.reason);
      const { record } = await runtime.deployments.promote({
        model,
        version,
        stage: args.stage ?? 'PRODUCTION',
        by: caller.id,
        reason,
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
      });
      return record;
    },
  },
  Deployment: {
    model: (d) => ({ id: d.model, type: modelTypeOf(d.model)! }),
    fromVersion: (d) => d.from,
    toVersion: (d) => d.to,
  },
};
