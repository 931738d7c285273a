import type { Resolvers } from '../src/generated/resolvers-types';
import { parseTicker } from '../src/registry/identifiers';

export const assetResolvers: Resolvers = {
  Query: {
    asset: async (_parent, args, { runtime }) => {
      const ticker = parseTicker(args.ticker);
      return (await runtime.registry.assetDirectory()).byTicker.get(ticker) ?? null;
    },
    assets: async (_parent, args, { runtime }) => {
      const { assets } = await runtime.registry.assetDirectory();
      return assets.filter((a) => (!args.kind || a.kind === args.kind) && (!args.status || a.status === args.status));
    },
  },
  Asset: {
    model: (asset) => ({ id: asset.modelId, type: asset.modelType }),
  },
};
