import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { resolvers } from '../../resolvers';
import { schemaTypeDefs } from './typeDefs';

/**
 * The executable schema, built the way Apollo builds it from `typeDefs` (the
 * same @graphql-tools/schema, the same graphql instance) minus two costs of
 * every cold start: the resolvers are attached to the built types in place
 * instead of onto a copy of the whole schema, and the Lambda build's document
 * is parsed and validated at build time (scripts/build-lambda.mjs), so it is
 * neither parsed nor validated again here (`assumeValidSDL`). The what-if build
 * `schema-at-startup` measures the difference (docs/benchmarks.md).
 */
export function executableSchema(): GraphQLSchema {
  const typeDefs = schemaTypeDefs();
  return makeExecutableSchema({
    typeDefs,
    resolvers,
    updateResolversInPlace: true,
    assumeValidSDL: typeof typeDefs !== 'string',
  });
}
