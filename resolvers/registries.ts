import type { Resolvers } from '../src/generated/resolvers-types';
import { connectionByKey } from '../src/graphql/connections';
import { SHARED_PREFIX } from '../src/registry/bucketLayout';
import { parseSharedPrefix } from '../src/registry/identifiers';
import { readDeploymentHistory, readModelRegistry } from '../src/registry/modelRegistryFeed';

/** Most entries `sharedFiles` answers. */
const MAX_SHARED_FILES = 1_000;

export const registriesResolvers: Resolvers = {
  Query: {
    recentDeployments: async (_parent, args, { runtime }) => {
      const first = Math.min(Math.max(args.first ?? 20, 0), 500);
      return (await readDeploymentHistory(runtime.store)).slice(0, first);
    },
    recentDeploymentsConnection: async (_parent, args, { runtime }) =>
      connectionByKey(await readDeploymentHistory(runtime.store), (d) => d.id, args, {
        defaultFirst: 20,
        maxFirst: 500,
      }),
    modelRegistry: async (_parent, _args, { runtime }) =>
      (await readModelRegistry(runtime.store)).map((m) => {
        const times = [m.production?.promoted_at, m.staging?.promoted_at].filter((t): t is string => !!t).sort();
        return {
          model: { id: m.model, type: m.type },
          productionVersion: m.production?.version ?? null,
          stagingVersion: m.staging?.version ?? null,
          updatedAt: times.at(-1) ?? null,
        };
      }),
    sharedFiles: async (_parent, args, { runtime }) => {
      const prefix = parseSharedPrefix(args.prefix ?? '');
      const objects = await runtime.store.listObjects(`${SHARED_PREFIX}${prefix}`, { limit: MAX_SHARED_FILES });
      return objects.map((o) => ({ key: o.key, size: o.size, lastModified: o.lastModified?.toISOString() ?? null }));
    },
  },
};
