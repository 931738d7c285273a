import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { Config } from '../config';

/**
 * Query limits from graphql-armor: depth, aliases, directives, parser tokens
 * and static cost, plus no field suggestions in production (they leak the
 * schema when introspection is off). Violations fail before execution with
 * GRAPHQL_VALIDATION_FAILED and a message naming the limit.
 * Batched HTTP operations (an array body) are refused by Apollo (allowBatchedHttpRequests: false).
 */
export function queryLimits(config: Config) {
  const production = config.NODE_ENV === 'production';
  return new ApolloArmor({
    maxDepth: { n: config.MAX_QUERY_DEPTH, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: config.MAX_ALIASES },
    maxDirectives: { n: config.MAX_DIRECTIVES },
    maxTokens: { n: config.MAX_TOKENS },
    costLimit: { maxCost: config.MAX_QUERY_COST, ignoreIntrospection: true },
    blockFieldSuggestion: { enabled: production },
  }).protect();
}
