import { modelRef } from '../src/graphql/mappers';
import { BadUserInputError } from '../src/errors';
import type { Resolvers } from '../src/generated/resolvers-types';
import { requireWrite } from '../src/graphql/auth';
import { connectionByKey } from '../src/graphql/connections';
import type { GraphQLContext } from '../src/graphql/context';
import { parseModelId, parseTicker, parseVersion } from '../src/registry/identifiers';
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

/** The series of a `performance` query's arguments. */
async function performanceSeries(
  ctx: GraphQLContext,
  args: { ticker: string; model?: string | null; version?: string | null; from?: unknown; to?: unknown },
): Promise<PerformanceSeries[]> {
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
  return listSeries(doc, { ticker, model, version, from, to });
}

export const performanceResolvers: Resolvers = {
  Query: {
    performance: (_parent, args, ctx) => performanceSeries(ctx, args),
    performanceConnection: async (_parent, args, ctx) =>
      connectionByKey(await performanceSeries(ctx, args), (s) => `${s.model}@${s.version}`, args, {
        defaultFirst: 20,
        maxFirst: 200,
      }),
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
      return result;
    },
  },
  PerformanceSeries: {
    model: (s) => modelRef(s.model),
    dailyConnection: (s, args) => connectionByKey(s.daily, (d) => d.date, args, { defaultFirst: 366, maxFirst: 1_000 }),
  },
  Version: {
    realizedAccuracy: async (v, _args, ctx) =>
      versionTotals(await ctx.loaders.performanceDocument(), v.model, v.metadata.version).accuracy,
    realizedPredictions: async (v, _args, ctx) =>
      versionTotals(await ctx.loaders.performanceDocument(), v.model, v.metadata.version).predictions,
  },
};
