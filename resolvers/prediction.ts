import { modelRef } from '../src/graphql/mappers';
import { BadUserInputError, locatedError, ModelgraphError } from '../src/errors';
import type { Resolvers } from '../src/generated/resolvers-types';
import { AliasNameSchema } from '../src/registry/governance';
import { modelTypeOf, parseArguments } from '../src/registry/identifiers';
import {
  matrixConfidences,
  matrixRows as matrixValueRows,
  matrixStrategies,
  matrixValuesF32,
} from '../src/inference/matrixAnswer';
import type { MatrixRows } from '../src/inference/predictor';

export const predictionResolvers: Resolvers = {
  Query: {
    predict: (_parent, args, { loaders }) =>
      loaders
        .predictions(args.stage ?? 'PRODUCTION', parseOptionalAlias(args.alias, 'alias'))
        .load({ ticker: args.ticker, features: args.features, model: args.model }),
    predictMatrix: (_parent, args, { runtime }) =>
      runtime.predictor.predictMatrix(
        args.ticker,
        args.featureNames,
        matrixRows(args.rows, args.rowsF32),
        args.stage ?? 'PRODUCTION',
        runtime.config.MAX_PREDICT_BATCH,
      ),
    predictMany: async (_parent, args, { loaders, runtime }) => {
      if (args.requests.length > runtime.config.MAX_PREDICT_BATCH) {
        throw new BadUserInputError(
          `predictMany takes at most ${runtime.config.MAX_PREDICT_BATCH} requests (got ${args.requests.length})`,
          {
            maxBatch: runtime.config.MAX_PREDICT_BATCH,
          },
        );
      }
      const stage = args.stage ?? 'PRODUCTION';
      // Rows that name an alias go to that alias's batch; the others to the stage's.
      const aliases = args.requests.map((r, i) => parseOptionalAlias(r.alias, `requests[${i}].alias`));
      const answers = await Promise.all(
        args.requests.map((r, i) =>
          loaders
            .predictions(stage, aliases[i])
            .load({ ticker: r.ticker, features: r.features, model: r.model, where: `requests[${i}]` })
            .catch((err: Error) => err),
        ),
      );
      const failed = answers.findIndex((a) => a instanceof Error);
      if (failed >= 0) throw namingRequest(answers[failed] as Error, failed);
      return answers as Exclude<(typeof answers)[number], Error>[];
    },
  },
  PredictionMatrix: {
    ticker: (m) => m.asset.ticker,
    strategies: (m) => matrixStrategies(m),
    confidences: (m) => matrixConfidences(m),
    strategyIndexes: (m) => Array.from(m.strategyIndexes),
    probabilities: (m) => (m.task === 'REGRESSION' ? [] : matrixValueRows(m)),
    outputs: (m) => (m.task === 'REGRESSION' ? matrixValueRows(m) : []),
    probabilitiesF32: (m) => (m.task === 'REGRESSION' ? null : matrixValuesF32(m)),
    outputsF32: (m) => (m.task === 'REGRESSION' ? matrixValuesF32(m) : null),
    modelType: (m) => modelTypeOf(m.model)!,
    model: (m) => modelRef(m.model),
  },
  Prediction: {
    modelType: (p) => modelTypeOf(p.model)!,
    model: (p) => modelRef(p.model),
  },
  EnsembleVote: {
    voting: (e) => (e.voting === 'soft' ? 'SOFT' : 'HARD'),
  },
  MemberVote: {
    model: (m) => modelRef(m.model),
  },
};

/** The error of `requests[i]`, naming it (message and `extensions.request`). */
function namingRequest(err: Error, i: number): Error {
  return err instanceof ModelgraphError ? locatedError(err, `requests[${i}]`, { request: i }) : err;
}

/** predictMatrix takes its rows as JSON or as float32 bytes: exactly one of the two. */
function matrixRows(rows: unknown, rowsF32: Uint8Array | null | undefined): MatrixRows {
  if ((rows == null) === (rowsF32 == null)) throw new BadUserInputError('give exactly one of rows and rowsF32');
  return rowsF32 != null ? { f32: rowsF32 } : { json: rows };
}

function parseOptionalAlias(alias: string | null | undefined, argument: string): string | null {
  return alias == null ? null : parseArguments(AliasNameSchema, alias, argument);
}
