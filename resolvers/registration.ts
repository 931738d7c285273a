import type { Resolvers } from '../src/generated/resolvers-types';
import { requireWrite } from '../src/graphql/auth';
import { registerThroughApi } from '../src/release/registerVersion';
import { parseAssetRegistration, registerAsset } from '../src/registry/assetRegistration';
import { parseModelId, parseVersion } from '../src/registry/identifiers';

export const registrationResolvers: Resolvers = {
  Mutation: {
    registerVersion: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const model = parseModelId(args.model);
      const version = parseVersion(args.version);
      const description = { ...args.metadata, ...(args.strategies ? { strategies: args.strategies } : {}) };
      return { model, metadata: await registerThroughApi(runtime, { model, version, description, by: caller.id }) };
    },
    registerAsset: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const registration = parseAssetRegistration(args);
      const { asset } = await registerAsset(runtime.registry, registration);
      return asset;
    },
  },
};
