import type { Resolvers } from '../src/generated/resolvers-types';
import { hasScope, Scope } from '../src/graphql/auth';
import { MODELGRAPH_VERSION } from '../src/version';

export const aboutResolvers: Resolvers = {
  Query: {
    about: (_parent, _args, { runtime }) => ({
      version: MODELGRAPH_VERSION,
      bucket: runtime.bucket,
      pointerTtlSeconds: runtime.config.POINTER_TTL_SECONDS,
    }),
  },
  Mutation: {
    whoami: (_parent, _args, { caller }) => caller,
  },
  Caller: {
    canWrite: (caller) => hasScope(caller, Scope.WRITE),
    canApprove: (caller) => hasScope(caller, Scope.APPROVE),
  },
};
