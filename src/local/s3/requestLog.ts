/**
 * The embedded S3 server's request log: what reliability and write-path tests
 * assert on (which requests reached S3, with which conditions, answered how).
 */
import type { IncomingHttpHeaders } from 'node:http';

import type { FaultKind } from './faults';
import type { S3Target } from './s3Protocol';

/** One request that reached the front server, in arrival order. */
export interface S3RequestRecord {
  /** 1, 2, 3… in arrival order (not reset by resetRequests). */
  seq: number;
  method: string;
  /** '' for service-level requests (ListBuckets). */
  bucket: string;
  /** Decoded object key; '' for bucket-level requests (ListObjectsV2, CreateBucket…). */
  key: string;
  /** Raw query string without '?', e.g. 'list-type=2&prefix=etfs%2F' or 'x-id=GetObject'. */
  query: string;
  /** Status sent to the client; 0 while unanswered or when the connection was reset/stalled. */
  status: number;
  ifMatch?: string;
  ifNoneMatch?: string;
  /** Request body bytes received (after transfer decoding, before aws-chunked decoding). */
  bytesIn: number;
  /** Response body bytes written to the client. */
  bytesOut: number;
  /** Fault injected into this request, if any. */
  fault?: FaultKind;
  /** Date.now() at arrival. */
  startedAt: number;
}

export interface S3RequestFilter extends Partial<Pick<S3RequestRecord, 'method' | 'bucket' | 'key' | 'status'>> {
  keySuffix?: string;
  keyPrefix?: string;
}

/** The most recent requests, in arrival order (up to a tenth more than `limit` between trims). */
export class RequestLog {
  private records: S3RequestRecord[] = [];
  private seq = 0;

  constructor(private readonly limit: number) {}

  /** Logs a request that just arrived; the front fills in its status, sizes and fault as it goes. */
  open(target: S3Target, headers: IncomingHttpHeaders): S3RequestRecord {
    const rec: S3RequestRecord = {
      seq: ++this.seq,
      method: target.method,
      bucket: target.bucket,
      key: target.key,
      query: target.query,
      status: 0,
      bytesIn: 0,
      bytesOut: 0,
      startedAt: Date.now(),
    };
    if (typeof headers['if-match'] === 'string') rec.ifMatch = headers['if-match'];
    if (typeof headers['if-none-match'] === 'string') rec.ifNoneMatch = headers['if-none-match'];
    this.records.push(rec);
    // Trimmed in steps of a tenth, not one record per request (each trim moves the whole array).
    if (this.records.length > this.limit + Math.ceil(this.limit / 10))
      this.records.splice(0, this.records.length - this.limit);
    return rec;
  }

  /** A copy of every kept record. */
  copy(): S3RequestRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  /** Forgets every record (sequence numbers go on). */
  reset(): void {
    this.records.length = 0;
  }

  count(filter: S3RequestFilter): number {
    return this.records.filter((r) => matchesFilter(r, filter)).length;
  }
}

function matchesFilter(r: S3RequestRecord, f: S3RequestFilter): boolean {
  if (f.method !== undefined && r.method !== f.method.toUpperCase()) return false;
  if (f.bucket !== undefined && r.bucket !== f.bucket) return false;
  if (f.key !== undefined && r.key !== f.key) return false;
  if (f.status !== undefined && r.status !== f.status) return false;
  if (f.keySuffix !== undefined && !(r.key && r.key.endsWith(f.keySuffix))) return false;
  if (f.keyPrefix !== undefined && !(r.key && r.key.startsWith(f.keyPrefix))) return false;
  return true;
}
