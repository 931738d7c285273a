import { expect } from 'vitest';
import type { S3RequestRecord } from '../../src/local/s3/embeddedS3';
import type { GraphQLResponse } from '../support/stack';

export const PREDICT = `query($ticker: String!, $features: JSONObject!) {
  predict(ticker: $ticker, features: $features) { ticker strategy confidence version model { id } }
}`;

export const PREDICT_MANY = `query($requests: [PredictionRequest!]!) {
  predictMany(requests: $requests) { ticker strategy confidence version model { id } }
}`;

/** Every code a client may see (DESIGN.md "Errors are typed", plus GraphQL's own request errors). */
export const TYPED_ERROR_CODES = new Set([
  'UNKNOWN_ASSET',
  'MODEL_NOT_FOUND',
  'VERSION_NOT_FOUND',
  'MODEL_NOT_DEPLOYED',
  'BAD_USER_INPUT',
  'CONFLICT',
  'INTEGRITY_ERROR',
  'INVALID_MODEL',
  'STORAGE_UNAVAILABLE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'POLICY_VIOLATION',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
]);

/**
 * The bucket layout (README, "Bucket layout"). Besides stage pointers, archive files and the
 * metadata/ documents, a promotion may copy artifacts into the stage folder
 * and a model may keep a history document; listings are bucket-level requests
 * (empty key).
 */
const MODEL_ID = String.raw`(etfs/[A-Z0-9.-]+|stocks/universal|universal/[a-z0-9_-]+|ensembles/[a-z0-9_-]+|experimental/[a-z0-9_-]+)`;
const FILE = String.raw`[A-Za-z0-9][A-Za-z0-9._-]{0,127}`;
const VERSION = String.raw`[A-Za-z0-9][A-Za-z0-9._-]{0,63}`;
export const BUCKET_LAYOUT = new RegExp(
  [
    String.raw`^${MODEL_ID}/(production|staging)/${FILE}$`,
    String.raw`^${MODEL_ID}/archive/${VERSION}/${FILE}$`,
    String.raw`^${MODEL_ID}/history\.json$`,
    String.raw`^${MODEL_ID}/(production|staging)/history/[0-9]{8}-[0-9]{8}\.json$`,
    String.raw`^metadata/[a-z_]+\.json$`,
    String.raw`^metadata/events/watermark\.json$`,
    // Governance documents beside the version folders.
    String.raw`^${MODEL_ID}/(approvals|tags)/${VERSION}\.json$`,
    String.raw`^${MODEL_ID}/aliases/[a-z][a-z0-9_-]{0,62}\.json$`,
    String.raw`^${MODEL_ID}/policy\.json$`,
    String.raw`^metadata/shadow/${MODEL_ID}/${VERSION}/${VERSION}/${FILE}$`,
    String.raw`^shared/${FILE}(/${FILE})*$`,
  ].join('|'),
);

/** Object requests whose key is outside the bucket layout (or holds `..`). */
export function keysOutsideLayout(requests: readonly S3RequestRecord[]): string[] {
  return requests
    .filter((r) => r.key !== '')
    .map((r) => r.key)
    .filter((key) => !BUCKET_LAYOUT.test(key) || key.split('/').some((segment) => segment === '..' || segment === '.'));
}

/** The error codes of a response (empty when it has none). */
export function codesOf(res: GraphQLResponse): string[] {
  return (res.errors ?? []).map((e) => String(e.extensions?.code));
}

/** A failed response whose every error is typed and none is internal. */
export function expectTypedFailure(res: GraphQLResponse, allowed: readonly string[]): void {
  expect(res.status).toBeLessThan(500);
  expect(res.errors?.length ?? 0).toBeGreaterThan(0);
  for (const code of codesOf(res)) expect(allowed).toContain(code);
}

export function rssMiB(): number {
  return Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
