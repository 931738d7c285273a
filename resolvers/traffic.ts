import type { Resolvers } from '../src/generated/resolvers-types';
import { requireWrite } from '../src/graphql/auth';
import { agreementRate } from '../src/inference/shadowTracker';
import { parseModelId } from '../src/registry/identifiers';
import { TRAFFIC_OFF } from '../src/registry/versionMetadata';
import { parseGeneration, parseReason } from '../src/registry/reason';

export const trafficResolvers: Resolvers = {
  Model: {
    traffic: async (model, _args, { loaders }) => {
      const pointer = await loaders.stagePointer.load(`${model.id}|PRODUCTION`);
      return pointer?.value.traffic ?? TRAFFIC_OFF;
    },
    shadowAgreement: async (model, _args, { runtime, loaders }) => {
      const [production, staging] = await Promise.all([
        loaders.stagePointer.load(`${model.id}|PRODUCTION`),
        loaders.stagePointer.load(`${model.id}|STAGING`),
      ]);
      return runtime.shadows.agreement(model.id, {
        productionVersion: production?.value.version,
        stagingVersion: staging?.value.version,
      });
    },
  },
  Traffic: {
    canaryPercent: (t) => t.canary_percent,
  },
  ShadowAgreement: {
    rate: (a) => agreementRate(a),
  },
  Mutation: {
    configureTraffic: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const model = parseModelId(args.model);
      const reason = parseReason(args.reason);
      const { record } = await runtime.deployments.configureTraffic({
        model,
        shadow: args.shadow,
        canaryPercent: args.canaryPercent,
        by: caller.id,
        reason,
        expectedGeneration: parseGeneration(args.expectedGeneration),
      });
      return record;
    },
  },
};
