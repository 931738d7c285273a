import { BadUserInputError } from '../src/errors';
import type { Resolvers } from '../src/generated/resolvers-types';
import { requireWrite } from '../src/graphql/auth';
import { modelTypeOf, parseModelId, parseTicker, parseVersion } from '../src/registry/identifiers';
import {
  hasOutcomesFor,
  listSeries,
  recordOutcomes,
  validateOutcomeBatch,
  versionTotals,
  type PerformanceSeries,
} from '../src/registry/performanceTracking';

/** The DateTime scalar parses to a Date (graphql-scalars); codegen types it as string. */
function instant(value: unknown, argument: string): Date | null {
  if (value == null) return null;
  const d = value instanceof Date ? value : new Date(String(value));
  if (Number.isNaN(d.getTime())) throw new BadUserInputError(`Invalid ${argument}: not a date-time`, { argument });
  return d;
}

const toGraphQL = (s: PerformanceSeries) => ({ ...s, model: { id: s.model, type: modelTypeOf(s.model)! } });

export const performanceResolvers: Resolvers = {
  Query: {
    performance: async (_parent, args, ctx) => {
      const ticker = parseTicker(args.ticker);
      const model = args.model == null ? null : parseModelId(args.model);
      const version = args.version == null ? null : parseVersion(args.version);
      const from = instant(args.from, 'from');
      const to = instant(args.to, 'to');
      if (from && to && from.getTime() > to.getTime())
        throw new BadUserInputError('from is after to', { argument: 'from' });
      const doc = await ctx.loaders.performanceDocument();
      // A ticker with recorded outcomes answers even if it was unregistered since.
      if (!hasOutcomesFor(doc, ticker)) await ctx.runtime.registry.resolveTicker(ticker);
      return listSeries(doc, { ticker, model, version, from, to }).map(toGraphQL);
    },
  },
  Mutation: {
    recordOutcomes: async (_parent, args, ctx) => {
      requireWrite(ctx.caller);
      const batch = await validateOutcomeBatch(ctx.runtime.registry, {
        batchId: args.batchId,
        outcomes: args.outcomes,
      });
      const result = await recordOutcomes(ctx.runtime.registry, batch);
      ctx.loaders.forgetPerformanceDocument();
      return { ...result, series: result.series.map(toGraphQL) };
    },
  },
  Version: {
    realizedAccuracy: async (v, _args, ctx) =>
      versionTotals(await ctx.loaders.performanceDocument(), v.model, v.metadata.version).accuracy,
    realizedPredictions: async (v, _args, ctx) =>
      versionTotals(await ctx.loaders.performanceDocument(), v.model, v.metadata.version).predictions,
  },
};
