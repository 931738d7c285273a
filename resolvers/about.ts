import type { Resolvers } from '../src/generated/resolvers-types';
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
};
