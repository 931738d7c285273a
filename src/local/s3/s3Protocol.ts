/**
 * Small pieces of the S3 REST protocol the embedded server's front needs:
 * request addressing (path-style and virtual-host, mirroring s3rver's vhost
 * rules), operation classification, ETag comparison and S3-style XML errors.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';

export interface S3Target {
  method: string;
  bucket: string; // '' for service-level requests (ListBuckets)
  key: string; // '' for bucket-level requests
  query: string; // raw query string without the '?', e.g. 'list-type=2&prefix=a%2F'
  params: URLSearchParams;
}

const S3_HOST = /^(?:(.+)\.)?s3(-website)?([-.].+)?\.amazonaws\.com$/;

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function hostnameOf(req: IncomingMessage): string {
  const host = String(req.headers.host ?? '');
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

/** Bucket and key of a request, resolved the way s3rver resolves them. */
export function parseTarget(req: IncomingMessage): S3Target {
  const url = req.url ?? '/';
  const qi = url.indexOf('?');
  const rawPath = qi < 0 ? url : url.slice(0, qi);
  const query = qi < 0 ? '' : url.slice(qi + 1);
  const host = hostnameOf(req);
  let vhostBucket: string | undefined;
  const m = S3_HOST.exec(host);
  if (m) vhostBucket = m[1];
  else if (host && !isIP(host) && !['localhost', osHostname()].includes(host)) vhostBucket = host;

  let bucket: string;
  let keyRaw: string;
  const rest = rawPath.replace(/^\//, '');
  if (vhostBucket) {
    bucket = vhostBucket;
    keyRaw = rest;
  } else {
    const slash = rest.indexOf('/');
    bucket = safeDecode(slash < 0 ? rest : rest.slice(0, slash));
    keyRaw = slash < 0 ? '' : rest.slice(slash + 1);
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    bucket,
    key: safeDecode(keyRaw),
    query,
    params: new URLSearchParams(query),
  };
}

export type S3Operation =
  | 'GetObject'
  | 'HeadObject'
  | 'PutObject'
  | 'CopyObject'
  | 'DeleteObject'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'DeleteObjects'
  | 'Other';

// Query parameters that turn an object request into a sub-resource request.
const OBJECT_SUBRESOURCES = [
  'acl',
  'attributes',
  'legal-hold',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
];

export function classify(t: S3Target, headers: IncomingMessage['headers']): S3Operation {
  const has = (p: string) => t.params.has(p);
  if (t.bucket && !t.key) {
    return t.method === 'POST' && has('delete') ? 'DeleteObjects' : 'Other';
  }
  if (!t.bucket || !t.key) return 'Other';
  const sub = OBJECT_SUBRESOURCES.some(has);
  switch (t.method) {
    case 'GET':
      return sub ? 'Other' : 'GetObject';
    case 'HEAD':
      return sub ? 'Other' : 'HeadObject';
    case 'DELETE':
      return sub ? 'Other' : 'DeleteObject';
    case 'PUT':
      if (has('uploadId') && has('partNumber') && !headers['x-amz-copy-source']) return 'UploadPart';
      if (sub || has('partNumber')) return 'Other';
      return headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
    case 'POST':
      return has('uploadId') ? 'CompleteMultipartUpload' : 'Other';
    default:
      return 'Other';
  }
}

/** Source bucket and key of a CopyObject request's x-amz-copy-source header. */
export function parseCopySource(value: string): { bucket: string; key: string } | undefined {
  let s = value;
  const q = s.indexOf('?');
  if (q >= 0) s = s.slice(0, q); // ?versionId=…
  s = safeDecode(s).replace(/^\//, '');
  const i = s.indexOf('/');
  if (i <= 0 || i === s.length - 1) return undefined;
  return { bucket: s.slice(0, i), key: s.slice(i + 1) };
}

/** ETag without weak prefix and quotes: '"abc"', 'abc' and 'W/"abc"' all give 'abc'. */
export function normalizeEtag(etag: string): string {
  return etag
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
}

/**
 * Evaluates an If-Match / If-None-Match header value (`*` or a comma-separated
 * list of quoted or unquoted ETags) against the current ETag (undefined if the
 * object does not exist).
 */
export function etagListMatches(header: string, current: string | undefined): boolean {
  if (current === undefined) return false;
  if (header.trim() === '*') return true;
  const want = normalizeEtag(current);
  return header.split(',').some((e) => e.trim() !== '' && normalizeEtag(e) === want);
}

/** Parses an HTTP date header; undefined when absent or invalid (ignored like S3 does). */
export function parseHttpDate(value: string | string[] | undefined): Date | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export interface DeleteObjectsRequest {
  quiet: boolean;
  objects: Array<{ key: string; etag?: string }>;
}

/**
 * Parses a DeleteObjects body (<Delete><Quiet/>?<Object><Key/><ETag/>?</Object>…</Delete>);
 * undefined when it is not one (s3rver then answers MalformedXML).
 */
export function parseDeleteObjects(xml: string): DeleteObjectsRequest | undefined {
  if (!/<Delete[\s>]/.test(xml)) return undefined;
  const objects: DeleteObjectsRequest['objects'] = [];
  const re = /<Object>([\s\S]*?)<\/Object>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const key = /<Key>([\s\S]*?)<\/Key>/.exec(m[1]);
    if (!key) return undefined;
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]);
    objects.push({ key: unescapeXml(key[1]), ...(etag ? { etag: unescapeXml(etag[1]) } : {}) });
  }
  if (objects.length === 0 || objects.length > 1000) return undefined;
  return { quiet: /<Quiet>\s*true\s*<\/Quiet>/i.test(xml), objects };
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, ent: string) => {
    switch (ent) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return String.fromCodePoint(ent[1] === 'x' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10));
    }
  });
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === "'" ? '&apos;' : '&quot;',
  );
}

export function newRequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** Messages of the S3 errors the front answers itself (S3's own wording where S3 has one). */
export const S3_ERROR_MESSAGES = {
  PreconditionFailed: 'At least one of the pre-conditions you specified did not hold',
  NoSuchKey: 'The specified key does not exist.',
  NotImplemented: 'A header you provided implies functionality that is not implemented',
  UnstorableKey: "The embedded S3 server cannot store keys with '.' or '..' path segments.",
} as const;

/** An S3 error document: <Error><Code/><Message/>…details…<RequestId/><HostId/></Error>. */
export function errorXml(
  code: string,
  message: string,
  requestId: string,
  detail: Record<string, string> = {},
): string {
  const fields = Object.entries({
    Code: code,
    Message: message,
    ...detail,
    RequestId: requestId,
    HostId: 'embedded-s3',
  })
    .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${fields}</Error>`;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** S3 bucket naming rules (the subset that also keeps s3rver's paths inside its directory). */
export function isValidBucketName(name: string): boolean {
  return BUCKET_NAME.test(name) && !name.includes('..') && !isIP(name);
}

/**
 * s3rver maps keys to file paths, so '.'/'..' segments would escape or alias
 * the data directory. S3 itself allows such keys; the embedded server refuses
 * them rather than corrupting its store.
 */
export function isStorableKey(key: string): boolean {
  return !key.split('/').some((seg) => seg === '.' || seg === '..') && !key.includes('\0');
}

/** A bucket name that cannot address anything outside s3rver's directory. */
export function isSafeBucketSegment(name: string): boolean {
  return name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}
