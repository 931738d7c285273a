/**
 * What a normalised cache needs to know about Modelgraph's schema, as plain
 * data (no dependency on a client library): pass it to Apollo Client's
 * `new InMemoryCache(cacheConfig)`, or take `possibleTypes` for urql Graphcache.
 *
 * - Every `Node` is keyed by its global `id` (the default `__typename:id`).
 * - Objects without an id are values inside their parent. When two queries
 *   select different fields of the same value (e.g. `Model.traffic`), the
 *   cache merges them instead of replacing one with the other and losing fields.
 */

/** The types that implement each interface (the `Node` interface's members). */
export const possibleTypes: Record<string, string[]> = {
  Node: ['Alias', 'Approval', 'Asset', 'Deployment', 'Model', 'PromotionPolicy', 'Version'],
};

/** Value types (no id) that are merged field by field where they sit in a normalised object. */
export const MERGED_VALUE_TYPES = [
  'Traffic',
  'PromotionRules',
  'Lineage',
  'EnsembleDefinition',
  'RealizedAccuracy',
  'VersionComparison',
  'PageInfo',
  'AssetConnection',
  'VersionConnection',
  'DeploymentConnection',
  'PerformanceSeriesConnection',
  'DailyAccuracyConnection',
] as const;

/** Apollo Client `typePolicies`: merge the value types. */
export const typePolicies: Record<string, { merge: true }> = Object.fromEntries(
  MERGED_VALUE_TYPES.map((type) => [type, { merge: true as const }]),
);

/** `new InMemoryCache(cacheConfig)`. */
export const cacheConfig = { possibleTypes, typePolicies };
