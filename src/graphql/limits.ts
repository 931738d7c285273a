import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { Config } from '../config';

/**
 * Query limits from graphql-armor: depth, aliases, directives and static cost, plus no field suggestions in production (they leak the
 * schema when introspection is off). Violations fail before execution with
 * GRAPHQL_VALIDATION_FAILED and a message naming the limit; the token limit
 * (Apollo's parseOptions.maxTokens) fails with GRAPHQL_PARSE_FAILED.
 * Batched HTTP operations (an array body) are refused by Apollo (allowBatchedHttpRequests: false).
 */
export function queryLimits(config: Config) {
  const production = config.NODE_ENV === 'production';
  return new ApolloArmor({
    maxDepth: { n: config.MAX_QUERY_DEPTH, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: config.MAX_ALIASES },
    maxDirectives: { n: config.MAX_DIRECTIVES },
    // Tokens are limited by graphql-js itself while parsing (parseOptions in
    // server.ts): armor's plugin re-parses in a hook where a syntax error escapes
    // as an HTTP 500 instead of Apollo's 400 GRAPHQL_PARSE_FAILED.
    maxTokens: { enabled: false },
    costLimit: { maxCost: config.MAX_QUERY_COST, ignoreIntrospection: true },
    blockFieldSuggestion: { enabled: production },
  }).protect();
}
