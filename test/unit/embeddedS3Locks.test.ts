import { describe, expect, it } from 'vitest';
import { type LockRequest, locksFor } from '../../src/local/s3/locks';
import type { S3Operation, S3Target } from '../../src/local/s3/s3Protocol';

const target = (method: string, bucket: string, key: string): S3Target => ({
  method,
  bucket,
  key,
  query: '',
  params: new URLSearchParams(),
});
const bucket = (name: string, exclusive: boolean): LockRequest => ({ name: `b:${name}`, exclusive });
const key = (b: string, k: string, exclusive: boolean): LockRequest => ({ name: `k:${b}\u0000${k}`, exclusive });
const DELETE_BODY = '<Delete><Object><Key>x/1</Key></Object><Object><Key>x/2</Key><ETag>"e"</ETag></Object></Delete>';

interface Case {
  op: S3Operation;
  t: S3Target;
  headers?: Record<string, string>;
  body?: string;
  locks: LockRequest[];
}

describe('locksFor: the locks each S3 operation holds', () => {
  const cases: Array<[string, Case]> = [
    ['GET: the key, shared', { op: 'GetObject', t: target('GET', 'b', 'k'), locks: [key('b', 'k', false)] }],
    ['HEAD: the key, shared', { op: 'HeadObject', t: target('HEAD', 'b', 'k'), locks: [key('b', 'k', false)] }],
    [
      'PUT: the bucket shared, the key alone',
      { op: 'PutObject', t: target('PUT', 'b', 'k'), locks: [bucket('b', false), key('b', 'k', true)] },
    ],
    [
      'complete multipart: the bucket shared, the key alone',
      { op: 'CompleteMultipartUpload', t: target('POST', 'b', 'k'), locks: [bucket('b', false), key('b', 'k', true)] },
    ],
    [
      'copy within a bucket: the source key shared too',
      {
        op: 'CopyObject',
        t: target('PUT', 'b', 'dst'),
        headers: { 'x-amz-copy-source': '/b/src%20key' },
        locks: [bucket('b', false), key('b', 'dst', true), key('b', 'src key', false)],
      },
    ],
    [
      'copy across buckets: the source bucket shared too',
      {
        op: 'CopyObject',
        t: target('PUT', 'b', 'dst'),
        headers: { 'x-amz-copy-source': 'other/src' },
        locks: [bucket('b', false), key('b', 'dst', true), bucket('other', false), key('other', 'src', false)],
      },
    ],
    [
      'copy with an unparsable source: the destination only',
      {
        op: 'CopyObject',
        t: target('PUT', 'b', 'dst'),
        headers: { 'x-amz-copy-source': 'nokey' },
        locks: [bucket('b', false), key('b', 'dst', true)],
      },
    ],
    [
      'DELETE: the bucket alone (s3rver removes emptied folders), the key alone',
      { op: 'DeleteObject', t: target('DELETE', 'b', 'k'), locks: [bucket('b', true), key('b', 'k', true)] },
    ],
    [
      'DeleteObjects: the bucket alone, every listed key alone',
      {
        op: 'DeleteObjects',
        t: target('POST', 'b', ''),
        body: DELETE_BODY,
        locks: [bucket('b', true), key('b', 'x/1', true), key('b', 'x/2', true)],
      },
    ],
    [
      'DeleteObjects with a malformed body: the bucket only (s3rver answers MalformedXML)',
      { op: 'DeleteObjects', t: target('POST', 'b', ''), body: 'not xml', locks: [bucket('b', true)] },
    ],
    [
      'UploadPart: none (a part is invisible until completed)',
      { op: 'UploadPart', t: target('PUT', 'b', 'k'), locks: [] },
    ],
    ['bucket-level and other requests: none', { op: 'Other', t: target('GET', 'b', ''), locks: [] }],
  ];
  it.each(cases)('%s', (_name, c) => {
    expect(locksFor(c.op, c.t, c.headers ?? {}, Buffer.from(c.body ?? ''))).toEqual(c.locks);
  });
});
