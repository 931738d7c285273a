import type { Resolvers } from '../src/generated/resolvers-types';
import { connectionByKey, type PageArgs } from '../src/graphql/connections';
import { parseTicker } from '../src/registry/identifiers';
import type { Asset } from '../src/registry/assetRegistry';

/** A page of assets in registry order, keyed by ticker. */
export const assetPage = (assets: readonly Asset[], args: PageArgs) =>
  connectionByKey(assets, (a) => a.ticker, args, { defaultFirst: 100, maxFirst: 500 });

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
    assetsConnection: async (_parent, args, { runtime }) => {
      const { assets } = await runtime.registry.assetDirectory();
      const matching = assets.filter(
        (a) => (!args.kind || a.kind === args.kind) && (!args.status || a.status === args.status),
      );
      return assetPage(matching, args);
    },
  },
  Asset: {
    model: (asset) => ({ id: asset.modelId, type: asset.modelType }),
  },
};
