/**
 * S3's conditional-request rules, as pure functions of the request's
 * conditions and what the store holds: (conditions, current object) → verdict.
 *
 * s3rver ignores or mis-evaluates these headers, so the embedded server's
 * front evaluates them itself while it holds the key's lock ("check → write"
 * is one step: of N concurrent If-Match PUTs exactly one wins and the others
 * get 412, never a conflict answer of their own). The front parses the
 * headers, looks the object up, asks for a verdict here and answers it.
 */
import type { IncomingHttpHeaders } from 'node:http';

import { etagListMatches, parseHttpDate } from './s3Protocol';

/** The object a condition is evaluated against, as the store holds it. */
export interface CurrentObject {
  etag: string;
  lastModified: Date;
}

/** The target of a write or delete: its bucket may be missing, its object may be missing. */
export interface StoredTarget {
  bucketExists: boolean;
  object?: CurrentObject;
}

/** If-Match / If-None-Match of a PUT, CopyObject (destination), CompleteMultipartUpload or DELETE. */
export interface WriteConditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

/** Conditions of a GET / HEAD, or CopyObject's x-amz-copy-source-if-* on the source object. */
export interface ReadConditions extends WriteConditions {
  /** Absent or unparsable dates are ignored, like S3 does. */
  ifModifiedSince?: Date;
  ifUnmodifiedSince?: Date;
}

export type PreconditionVerdict =
  /** Forward the request to s3rver (which answers NoSuchKey / NoSuchBucket itself where that applies). */
  | { outcome: 'proceed' }
  /** 304 Not Modified, with the current object's ETag and Last-Modified. */
  | { outcome: 'notModified'; object: CurrentObject }
  /** 412 PreconditionFailed naming the condition that did not hold. */
  | { outcome: 'preconditionFailed'; condition: string }
  /** 404 NoSuchKey: If-Match on a key that does not exist. */
  | { outcome: 'noSuchKey' }
  /** 501 NotImplemented: S3 supports only `If-None-Match: *` on writes. */
  | { outcome: 'notImplemented'; header: string };

/** A verdict the front answers itself instead of forwarding the request. */
export type Refusal = Exclude<PreconditionVerdict, { outcome: 'proceed' }>;

export const PROCEED: PreconditionVerdict = { outcome: 'proceed' };

const failed = (condition: string): PreconditionVerdict => ({ outcome: 'preconditionFailed', condition });

/**
 * GET / HEAD, in RFC 7232 §6 order (which S3 documents too): If-Match, else
 * If-Unmodified-Since (412); then If-None-Match, else If-Modified-Since (304).
 */
export function readVerdict(c: ReadConditions, object: CurrentObject | undefined): PreconditionVerdict {
  if (!object) return PROCEED; // s3rver answers NoSuchKey / NoSuchBucket
  if (c.ifMatch !== undefined) {
    if (!etagListMatches(c.ifMatch, object.etag)) return failed('If-Match');
  } else if (c.ifUnmodifiedSince && object.lastModified > c.ifUnmodifiedSince) {
    return failed('If-Unmodified-Since');
  }
  const notModified =
    c.ifNoneMatch !== undefined
      ? etagListMatches(c.ifNoneMatch, object.etag)
      : c.ifModifiedSince !== undefined && object.lastModified <= c.ifModifiedSince;
  return notModified ? { outcome: 'notModified', object } : PROCEED;
}

/**
 * CopyObject's x-amz-copy-source-if-* on the source object: the same order as
 * a GET, but every failed condition (If-None-Match and If-Modified-Since too)
 * is a 412.
 */
export function copySourceVerdict(c: ReadConditions, source: CurrentObject | undefined): PreconditionVerdict {
  if (!source) return PROCEED; // s3rver answers NoSuchKey
  if (c.ifMatch !== undefined) {
    if (!etagListMatches(c.ifMatch, source.etag)) return failed('x-amz-copy-source-If-Match');
  } else if (c.ifUnmodifiedSince && source.lastModified > c.ifUnmodifiedSince) {
    return failed('x-amz-copy-source-If-Unmodified-Since');
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagListMatches(c.ifNoneMatch, source.etag)) return failed('x-amz-copy-source-If-None-Match');
  } else if (c.ifModifiedSince && source.lastModified <= c.ifModifiedSince) {
    return failed('x-amz-copy-source-If-Modified-Since');
  }
  return PROCEED;
}

/**
 * PutObject, CopyObject's destination and CompleteMultipartUpload:
 * `If-None-Match: *` creates only (412 if the key exists); `If-Match` replaces
 * only that ETag (404 if the key is missing, 412 if it differs). Any other
 * If-None-Match value is 501, as on S3.
 */
export function writeVerdict(c: WriteConditions, target: StoredTarget): PreconditionVerdict {
  if (c.ifMatch === undefined && c.ifNoneMatch === undefined) return PROCEED;
  if (!target.bucketExists) return PROCEED; // s3rver answers NoSuchBucket
  if (c.ifNoneMatch !== undefined && c.ifNoneMatch.trim() !== '*') {
    return { outcome: 'notImplemented', header: 'If-None-Match' };
  }
  const { object } = target;
  if (c.ifMatch !== undefined) {
    if (!object) return { outcome: 'noSuchKey' };
    if (!etagListMatches(c.ifMatch, object.etag)) return failed('If-Match');
  }
  if (c.ifNoneMatch !== undefined && object) return failed('If-None-Match');
  return PROCEED;
}

/**
 * DeleteObject (and each <Object><ETag> of DeleteObjects, as If-Match):
 * If-Match as for a write; If-None-Match fails only when it matches.
 */
export function deleteVerdict(c: WriteConditions, target: StoredTarget): PreconditionVerdict {
  if (c.ifMatch === undefined && c.ifNoneMatch === undefined) return PROCEED;
  if (!target.bucketExists) return PROCEED; // s3rver answers NoSuchBucket
  const { object } = target;
  if (c.ifMatch !== undefined) {
    if (!object) return { outcome: 'noSuchKey' };
    if (!etagListMatches(c.ifMatch, object.etag)) return failed('If-Match');
  }
  if (c.ifNoneMatch !== undefined && object && etagListMatches(c.ifNoneMatch, object.etag)) {
    return failed('If-None-Match');
  }
  return PROCEED;
}

// -- parsing ------------------------------------------------------------------

/** Conditional request headers the front evaluates itself and never forwards. */
export const CONDITIONAL_HEADERS = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];
/** CopyObject's conditions on its source object. */
export const COPY_SOURCE_CONDITIONAL_HEADERS = CONDITIONAL_HEADERS.map((h) => `x-amz-copy-source-${h}`);

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function conditionsFrom(headers: IncomingHttpHeaders, prefix: string): ReadConditions | undefined {
  if (!CONDITIONAL_HEADERS.some((h) => headers[prefix + h] !== undefined)) return undefined;
  return {
    ifMatch: headerValue(headers[`${prefix}if-match`]),
    ifNoneMatch: headerValue(headers[`${prefix}if-none-match`]),
    ifModifiedSince: parseHttpDate(headers[`${prefix}if-modified-since`]),
    ifUnmodifiedSince: parseHttpDate(headers[`${prefix}if-unmodified-since`]),
  };
}

/** A GET / HEAD's conditions; undefined when it has none (even an unparsable date makes it conditional). */
export function readConditions(headers: IncomingHttpHeaders): ReadConditions | undefined {
  return conditionsFrom(headers, '');
}

/** CopyObject's x-amz-copy-source-if-* conditions; undefined when it has none. */
export function copySourceConditions(headers: IncomingHttpHeaders): ReadConditions | undefined {
  return conditionsFrom(headers, 'x-amz-copy-source-');
}

/** If-Match / If-None-Match of a write or delete; undefined when neither is present. */
export function writeConditions(headers: IncomingHttpHeaders): WriteConditions | undefined {
  const ifMatch = headerValue(headers['if-match']);
  const ifNoneMatch = headerValue(headers['if-none-match']);
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return { ifMatch, ifNoneMatch };
}
