/**
 * @modelgraph/client: the typed client contract of Modelgraph's GraphQL API.
 *
 * - One TypedDocumentNode per operation of client/operations/*.graphql
 *   (`AssetModelDocument`, …), with its result and variables types; each carries
 *   its trusted-document id in `__meta__.hash` (`sha256:<hex>`).
 * - The schema's types (`Asset`, `Version`, `Stage`, …).
 * - `cacheConfig` for a normalised cache.
 * - `@modelgraph/client/schema.graphql`, `/introspection.json` and
 *   `/persisted-documents.json` beside the code.
 */
export * from '../generated/client/graphql';
export { graphql } from '../generated/client/gql';
export { cacheConfig, possibleTypes, typePolicies, MERGED_VALUE_TYPES } from './cacheConfig';

/** The trusted-document id of a generated document (`documentId` in a persisted-documents request). */
export function documentIdOf(document: unknown): string {
  const hash = (document as { __meta__?: { hash?: unknown } } | null)?.__meta__?.hash;
  if (typeof hash !== 'string') throw new TypeError('not a generated Modelgraph document (no __meta__.hash)');
  return hash;
}
