import type { Resolvers } from '../src/generated/resolvers-types';
import { requireWrite } from '../src/graphql/auth';
import { parseModelId } from '../src/registry/identifiers';
import { parseReason } from './deployment';

export const trafficResolvers: Resolvers = {
  Model: {
    traffic: async (model, _args, { loaders }) => {
      const pointer = await loaders.stagePointer.load(`${model.id}|PRODUCTION`);
      return pointer?.value.traffic ?? { shadow: false, canary_percent: 0 };
    },
    shadowAgreement: async (model, _args, { runtime, loaders }) => {
      const pairs = await runtime.shadows.agreement(model.id);
      const [production, staging] = await Promise.all([loaders.stagePointer.load(`${model.id}|PRODUCTION`), loaders.stagePointer.load(`${model.id}|STAGING`)]);
      const current = (p: { productionVersion: string; stagingVersion: string }) =>
        p.productionVersion === production?.value.version && p.stagingVersion === staging?.value.version ? 0 : 1;
      return pairs.sort((a, b) => current(a) - current(b) || a.productionVersion.localeCompare(b.productionVersion) || a.stagingVersion.localeCompare(b.stagingVersion));
    },
  },
  Traffic: {
    canaryPercent: (t) => t.canary_percent,
  },
  ShadowAgreement: {
    rate: (a) => (a.rows === 0 ? null : a.agreements / a.rows),
  },
  Mutation: {
    configureTraffic: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const model = parseModelId(args.model);
      const reason = parseReason(args.reason);
      const { record } = await runtime.deployments.configureTraffic({ model, shadow: args.shadow, canaryPercent: args.canaryPercent, by: caller.id, reason });
      return record;
    },
  },
};
