/**
 * Embedded S3-compatible server for the local server (`npm start`), the
 * integration tests and the benchmarks.
 *
 * s3rver (in-process, 127.0.0.1, ephemeral internal port, files in `dataDir`)
 * does the storage; a small node:http front server on the public port forwards
 * every request to it and adds what s3rver lacks so that the project's
 * compare-and-swap logic is proven against S3's protocol, not a mock:
 *
 *  - conditional writes like S3: PUT / CopyObject / CompleteMultipartUpload
 *    with `If-None-Match: *` (412 if the key exists) or `If-Match: <etag>`
 *    (404 NoSuchKey if missing, 412 if the ETag differs), DELETE with
 *    If-Match; conditional GET/HEAD (If-Match, If-None-Match,
 *    If-Modified-Since, If-Unmodified-Since → 412/304, quoted or unquoted
 *    ETags) and CopyObject's x-amz-copy-source-if-* conditions;
 *  - atomic writes: request bodies are received completely before anything is
 *    forwarded (a client that aborts mid-upload never leaves a partial
 *    object), and every key has a fair reader/writer lock — writes are
 *    exclusive ("check precondition → write → wait for s3rver's answer" is one
 *    step, so of N concurrent If-Match PUTs exactly one wins) and a reader never
 *    sees s3rver's in-place rewrite of a file half done;
 *  - aws-chunked uploads decoded and Content-MD5 / x-amz-checksum-* verified
 *    (400 BadDigest), so even the SDK's default checksum mode stores the right
 *    bytes (prefer {@link embeddedS3ClientConfig} anyway);
 *  - a request log and fault injection for reliability tests.
 *
 * s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node ≥ 17
 * offers only with `--openssl-legacy-provider`; start-up fails clearly
 * without it.
 */
import { createCipheriv } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import type { S3ClientConfig } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

import { UnreachableCaseError } from '../../unreachable';
import { EMBEDDED_S3_CREDENTIALS } from './credentials';
import {
  type FaultedResponse,
  faultedResponse,
  type FaultKind,
  type FaultSpec,
  FaultTable,
  injectedStatus,
  responseFaultOf,
  type ResponseFaultKind,
} from './faults';
import { LockTable, locksFor } from './locks';
import {
  CONDITIONAL_HEADERS,
  COPY_SOURCE_CONDITIONAL_HEADERS,
  copySourceConditions,
  copySourceVerdict,
  type CurrentObject,
  deleteVerdict,
  PROCEED,
  type PreconditionVerdict,
  readConditions,
  readVerdict,
  type Refusal,
  type StoredTarget,
  writeConditions,
  writeVerdict,
} from './preconditions';
import { decodeAwsChunked, isAwsChunked, PayloadError, verifyPayload } from './payload';
import {
  classify,
  errorXml,
  isSafeBucketSegment,
  isStorableKey,
  isValidBucketName,
  escapeXml,
  newRequestId,
  parseCopySource,
  parseDeleteObjects,
  parseTarget,
  type S3Operation,
  type S3Target,
} from './s3Protocol';

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

export type { FaultKind, FaultSpec, S3RequestInfo } from './faults';

export interface EmbeddedS3Options {
  /** Directory holding the buckets; created if missing; survives restarts. */
  dataDir: string;
  /** Public port; 0 (default) = ephemeral. */
  port?: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** s3rver logging; default true (silent). Pass false to see s3rver's log. */
  silent?: boolean;
  /** Most recent requests kept in the request log (default 100 000; up to a tenth more between trims). */
  requestLogLimit?: number;
}

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

export interface EmbeddedS3 {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  /** Creates the bucket if it does not exist (directly in the store; not logged). */
  ensureBucket(name: string): Promise<void>;
  /** A copy of the request log. */
  requests(): S3RequestRecord[];
  resetRequests(): void;
  /** Number of logged requests matching all given fields (method compared case-insensitively). */
  count(filter: S3RequestFilter): number;
  injectFault(f: FaultSpec): void;
  /** Removes all faults and lets stalled requests proceed. */
  clearFaults(): void;
  /** Closes both servers and every connection; stalled requests are destroyed. */
  close(): Promise<void>;
}

/** S3 client settings for talking to the embedded server. */
export function embeddedS3ClientConfig(endpoint: string): S3ClientConfig {
  return {
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: EMBEDDED_S3_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** Throws unless this process can use DES (needed by s3rver's ListObjectsV2 pagination). */
export function assertDesAvailable(): void {
  try {
    createCipheriv('des', Buffer.alloc(8, 1), Buffer.alloc(8, 2));
  } catch (err) {
    throw new Error(
      'The embedded S3 server (s3rver) needs the DES cipher for ListObjectsV2 continuation tokens, ' +
        'which Node >= 17 only provides with the OpenSSL legacy provider. Run node with ' +
        '--openssl-legacy-provider (e.g. NODE_OPTIONS=--openssl-legacy-provider npm start, or ' +
        '`node --openssl-legacy-provider …`). Cause: ' +
        (err instanceof Error ? err.message : String(err)),
    );
  }
}

export async function startEmbeddedS3(opts: EmbeddedS3Options): Promise<EmbeddedS3> {
  assertDesAvailable();
  await mkdir(opts.dataDir, { recursive: true });
  const backend = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: opts.dataDir,
    silent: opts.silent ?? true,
    resetOnClose: false,
  });
  const { port: backendPort } = await backend.run();
  // The front's keep-alive agent is s3rver's only client: never let s3rver close an idle
  // connection under it (close() ends them all).
  if (backend.httpServer) backend.httpServer.keepAliveTimeout = 0;
  const front = new FrontServer(backend, backendPort, opts.requestLogLimit ?? 100_000);
  try {
    const address = await front.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return {
      endpoint: `http://${host}:${address.port}`,
      port: address.port,
      ensureBucket: (name) => front.ensureBucket(name),
      requests: () => front.log.map((r) => ({ ...r })),
      resetRequests: () => {
        front.log.length = 0;
      },
      count: (filter) => front.log.filter((r) => matchesFilter(r, filter)).length,
      injectFault: (f) => front.injectFault(f),
      clearFaults: () => front.clearFaults(),
      close: () => front.close(),
    };
  } catch (err) {
    await front.close();
    throw err;
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

// ---------------------------------------------------------------------------
// Front server
// ---------------------------------------------------------------------------

/** Headers that describe one hop and are never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'expect',
]);

const PRECONDITION_FAILED_MESSAGE = 'At least one of the pre-conditions you specified did not hold';
const NO_SUCH_KEY_MESSAGE = 'The specified key does not exist.';
const NOT_IMPLEMENTED_MESSAGE = 'A header you provided implies functionality that is not implemented';

class ClientGone extends Error {}

class FrontServer {
  readonly log: S3RequestRecord[] = [];
  private seq = 0;
  private readonly faults = new FaultTable();
  private readonly locks = new LockTable();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private closing?: Promise<void>;

  constructor(
    private readonly backend: S3rver,
    private readonly backendPort: number,
    private readonly logLimit: number,
  ) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    // Fewer "server closed an idle kept-alive socket just as the client reused it" races;
    // close() ends every connection regardless.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // A client that sends garbage gets a 400 and its socket closed; never crash the process.
    this.server.on('clientError', (_err, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  async ensureBucket(name: string): Promise<void> {
    if (!isValidBucketName(name)) throw new Error(`invalid S3 bucket name "${name}"`);
    if (!(await this.backend.store.getBucket(name))) await this.backend.store.putBucket(name);
  }

  injectFault(spec: FaultSpec): void {
    this.faults.inject(spec);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.faults.close();
      const frontClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
      for (const s of this.sockets) s.destroy();
      this.agent.destroy();
      const httpServer = this.backend.httpServer;
      const backendClosed = this.backend.close().catch(() => undefined);
      httpServer?.closeAllConnections();
      await Promise.all([frontClosed, backendClosed]);
    })();
    return this.closing;
  }

  // -- request handling ------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const target = parseTarget(req);
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
    if (typeof req.headers['if-match'] === 'string') rec.ifMatch = req.headers['if-match'];
    if (typeof req.headers['if-none-match'] === 'string') rec.ifNoneMatch = req.headers['if-none-match'];
    this.log.push(rec);
    // Trimmed in steps of a tenth, not one record per request (each trim moves the whole array).
    if (this.log.length > this.logLimit + Math.ceil(this.logLimit / 10))
      this.log.splice(0, this.log.length - this.logLimit);
    this.process(req, res, target, rec).catch((err: unknown) => this.internalError(res, rec, err));
  }

  private async process(
    req: IncomingMessage,
    res: ServerResponse,
    target: S3Target,
    rec: S3RequestRecord,
  ): Promise<void> {
    const { method, bucket, key, query } = target;
    const fault = this.faults.take({ method, bucket, key, query, headers: req.headers });
    if (fault) rec.fault = fault.kind;
    if (fault && !(await this.faults.admit(fault, req, res))) return;

    let body: Buffer;
    try {
      body = await readBody(req, rec);
    } catch {
      return; // the client went away mid-request: nothing is forwarded, nothing is written
    }

    if (fault?.kind === 'status') {
      const { status, code } = injectedStatus(fault);
      this.sendError(res, rec, status, code, 'Injected fault.');
      return;
    }

    if (!isSafeBucketSegment(target.bucket) || (target.key && !isStorableKey(target.key))) {
      this.sendError(
        res,
        rec,
        400,
        'InvalidArgument',
        "The embedded S3 server cannot store keys with '.' or '..' path segments.",
      );
      return;
    }

    const op = classify(target, req.headers);
    const headers = forwardHeaders(req.headers);
    try {
      if ((op === 'PutObject' || op === 'UploadPart') && isAwsChunked(headers)) body = decodeAwsChunked(body, headers);
      verifyPayload(body, headers, op === 'PutObject' || op === 'UploadPart');
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err;
      this.sendError(res, rec, err.status, err.code, err.message);
      return;
    }

    // acquireAll takes them in one global order: no deadlocks.
    const release = await this.locks.acquireAll(locksFor(op, target, headers, body));
    try {
      if (op === 'DeleteObjects' && (await this.deleteObjects(target, body, res, rec))) return;
      const verdict = await this.preconditionVerdict(op, target, headers);
      if (verdict.outcome !== 'proceed') {
        this.answerVerdict(res, rec, target.key, verdict);
        return;
      }
      await this.forward(req, res, rec, headers, body, responseFaultOf(fault));
    } finally {
      release();
    }
  }

  /** The bucket's existence and the key's object, for a write's or delete's conditions. */
  private async stored(bucket: string, key: string): Promise<StoredTarget> {
    if (!(await this.backend.store.getBucket(bucket))) return { bucketExists: false };
    return { bucketExists: true, object: await this.current(bucket, key) };
  }

  private async current(bucket: string, key: string): Promise<CurrentObject | undefined> {
    try {
      const meta = await this.backend.store.getMetadata(bucket, key);
      return { etag: String(meta.etag), lastModified: new Date(meta['last-modified']) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw err;
    }
  }

  /**
   * The verdict on an operation's preconditions, evaluated while its locks are held.
   * Strips the conditional headers it evaluated from `headers` (s3rver ignores or
   * mis-evaluates them) and rewrites CopyObject's source for s3rver.
   */
  private async preconditionVerdict(
    op: S3Operation,
    t: S3Target,
    headers: IncomingHttpHeaders,
  ): Promise<PreconditionVerdict> {
    switch (op) {
      case 'GetObject':
      case 'HeadObject': {
        const conditions = readConditions(headers);
        for (const h of CONDITIONAL_HEADERS) delete headers[h];
        if (!conditions) return PROCEED;
        return readVerdict(conditions, await this.current(t.bucket, t.key));
      }

      case 'PutObject':
      case 'CopyObject':
      case 'CompleteMultipartUpload': {
        const conditions = writeConditions(headers);
        delete headers['if-match'];
        delete headers['if-none-match'];
        if (op === 'CopyObject') {
          const source = await this.copySourceVerdict(headers);
          if (source.outcome !== 'proceed') return source;
        }
        if (!conditions) return PROCEED;
        return writeVerdict(conditions, await this.stored(t.bucket, t.key));
      }

      case 'DeleteObject': {
        const conditions = writeConditions(headers);
        delete headers['if-match'];
        delete headers['if-none-match'];
        if (!conditions) return PROCEED;
        return deleteVerdict(conditions, await this.stored(t.bucket, t.key));
      }

      case 'UploadPart':
      case 'DeleteObjects': // per-object conditions: see deleteObjects()
      case 'Other':
        return PROCEED;

      default:
        throw new UnreachableCaseError(op);
    }
  }

  /** CopyObject's x-amz-copy-source-if-* conditions on its source object. */
  private async copySourceVerdict(headers: IncomingHttpHeaders): Promise<PreconditionVerdict> {
    const src = parseCopySource(String(headers['x-amz-copy-source']));
    const conditions = copySourceConditions(headers);
    for (const h of COPY_SOURCE_CONDITIONAL_HEADERS) delete headers[h];
    if (!src) return PROCEED;
    // s3rver decodes x-amz-copy-source with decodeURI (not decodeURIComponent): hand it a form
    // that decodeURI turns into exactly the key S3 would use.
    headers['x-amz-copy-source'] = `/${src.bucket}/${encodeURI(src.key)}`;
    if (!conditions) return PROCEED;
    return copySourceVerdict(conditions, await this.current(src.bucket, src.key));
  }

  /** Answers a request whose preconditions refused it. */
  private answerVerdict(res: ServerResponse, rec: S3RequestRecord, key: string, verdict: Refusal): void {
    switch (verdict.outcome) {
      case 'notModified':
        this.send(res, rec, 304, {
          ETag: verdict.object.etag,
          'Last-Modified': verdict.object.lastModified.toUTCString(),
          'x-amz-request-id': newRequestId(),
        });
        return;
      case 'preconditionFailed':
        this.sendError(res, rec, 412, 'PreconditionFailed', PRECONDITION_FAILED_MESSAGE, {
          Condition: verdict.condition,
        });
        return;
      case 'noSuchKey':
        this.sendError(res, rec, 404, 'NoSuchKey', NO_SUCH_KEY_MESSAGE, { Key: key });
        return;
      case 'notImplemented':
        this.sendError(res, rec, 501, 'NotImplemented', NOT_IMPLEMENTED_MESSAGE, { Header: verdict.header });
        return;
      default:
        throw new UnreachableCaseError(verdict);
    }
  }

  /**
   * DeleteObjects, answered by the front: s3rver deletes the keys concurrently and its
   * empty-directory cleanup then fails with ENOENT (500) when two keys share a folder.
   * Deletes one key at a time (locks are held), honours per-object <ETag> conditions like S3.
   * Returns false (not handled) for a missing bucket or a malformed body: s3rver answers those.
   */
  private async deleteObjects(t: S3Target, body: Buffer, res: ServerResponse, rec: S3RequestRecord): Promise<boolean> {
    const request = parseDeleteObjects(body.toString('utf8'));
    if (!request || !(await this.backend.store.getBucket(t.bucket))) return false;
    const parts: string[] = [];
    for (const { key, etag } of request.objects) {
      const error = (code: string, message: string) =>
        parts.push(
          `<Error><Key>${escapeXml(key)}</Key><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`,
        );
      if (!isStorableKey(key)) {
        error('InvalidArgument', "The embedded S3 server cannot store keys with '.' or '..' path segments.");
        continue;
      }
      if (etag !== undefined) {
        const object = await this.current(t.bucket, key);
        const verdict = deleteVerdict({ ifMatch: etag }, { bucketExists: true, object });
        if (verdict.outcome === 'noSuchKey') {
          error('NoSuchKey', NO_SUCH_KEY_MESSAGE);
          continue;
        }
        if (verdict.outcome !== 'proceed') {
          error('PreconditionFailed', PRECONDITION_FAILED_MESSAGE);
          continue;
        }
      }
      try {
        if (await this.backend.store.existsObject(t.bucket, key)) await this.backend.store.deleteObject(t.bucket, key);
        if (!request.quiet) parts.push(`<Deleted><Key>${escapeXml(key)}</Key></Deleted>`);
      } catch (err) {
        error('InternalError', err instanceof Error ? err.message : String(err));
      }
    }
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join('')}</DeleteResult>`;
    this.send(
      res,
      rec,
      200,
      {
        'Content-Type': 'application/xml',
        'Content-Length': String(Buffer.byteLength(xml)),
        'x-amz-request-id': newRequestId(),
      },
      xml,
    );
    return true;
  }

  /**
   * Forwards the (fully received) request to s3rver and its answer to the
   * client. Resolves once s3rver's answer has been read completely — the
   * caller's locks are held until then, but never while waiting for a slow
   * client: the response is buffered by the front if the client reads slowly.
   */
  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    rec: S3RequestRecord,
    headers: IncomingHttpHeaders,
    body: Buffer,
    fault: ResponseFaultKind | undefined,
  ): Promise<void> {
    const outHeaders: OutgoingHttpHeaders = { ...headers };
    if (body.length > 0 || req.method === 'PUT' || req.method === 'POST')
      outHeaders['content-length'] = String(body.length);
    else delete outHeaders['content-length'];

    return new Promise<void>((resolve, reject) => {
      const attempt = (retry: boolean) => {
        const upReq = http.request({
          host: '127.0.0.1',
          port: this.backendPort,
          method: req.method,
          path: req.url,
          headers: outHeaders,
          agent: this.agent,
        });
        upReq.on('error', (err: NodeJS.ErrnoException) => {
          if (this.closing) {
            res.destroy();
            resolve();
          } else if (retry && upReq.reusedSocket && err.code === 'ECONNRESET') {
            attempt(false); // a kept-alive socket closed under us: the request never reached s3rver
          } else reject(err);
        });
        upReq.on('response', (upRes) => onResponse(upRes));
        upReq.end(body);
      };
      const onResponse = (upRes: IncomingMessage) => {
        const status = upRes.statusCode ?? 502;
        const resHeaders = responseHeaders(upRes.rawHeaders);
        if (fault) {
          const chunks: Buffer[] = [];
          upRes.on('data', (c: Buffer) => chunks.push(c));
          upRes.on('error', () => {
            res.destroy();
            resolve();
          });
          upRes.on('end', () => {
            const data = Buffer.concat(chunks);
            this.sendFaulted(res, rec, status, faultedResponse(fault, req.method ?? '', resHeaders, data));
            resolve();
          });
          return;
        }
        this.writeHead(res, rec, status, resHeaders);
        let done = false;
        const finish = () => {
          if (!done) {
            done = true;
            resolve();
          }
        };
        upRes.on('data', (c: Buffer) => {
          if (res.destroyed) return;
          rec.bytesOut += c.length;
          res.write(c); // ignore back-pressure on purpose: never hold a lock for a slow client
        });
        upRes.on('end', () => {
          res.end();
          finish();
        });
        upRes.on('error', () => {
          res.destroy();
          finish();
        });
        upRes.on('close', () => {
          if (!upRes.complete) res.destroy();
          finish();
        });
        res.on('close', () => {
          if (!upRes.complete) upRes.destroy();
        });
      };
      attempt(true);
    });
  }

  private sendFaulted(res: ServerResponse, rec: S3RequestRecord, status: number, faulted: FaultedResponse): void {
    if (faulted.action === 'destroy') {
      res.socket?.destroy();
      return;
    }
    this.writeHead(res, rec, status, faulted.headers);
    rec.bytesOut += faulted.body.length;
    if (faulted.then === 'destroy') res.write(faulted.body, () => res.socket?.destroy());
    else res.end(faulted.body);
  }

  private writeHead(
    res: ServerResponse,
    rec: S3RequestRecord,
    status: number,
    headers: Array<[string, string]> | OutgoingHttpHeaders,
  ): void {
    rec.status = status;
    if (Array.isArray(headers)) res.writeHead(status, headers.flat());
    else res.writeHead(status, headers);
  }

  private send(
    res: ServerResponse,
    rec: S3RequestRecord,
    status: number,
    headers: OutgoingHttpHeaders,
    body?: string,
  ): void {
    if (res.headersSent || res.destroyed) return;
    this.writeHead(res, rec, status, headers);
    if (body !== undefined && rec.method !== 'HEAD') rec.bytesOut += Buffer.byteLength(body);
    res.end(body);
  }

  private sendError(
    res: ServerResponse,
    rec: S3RequestRecord,
    status: number,
    code: string,
    message: string,
    detail: Record<string, string> = {},
  ): void {
    const requestId = newRequestId();
    const xml = errorXml(code, message, requestId, detail);
    this.send(
      res,
      rec,
      status,
      {
        'Content-Type': 'application/xml',
        'Content-Length': String(Buffer.byteLength(xml)),
        'x-amz-request-id': requestId,
      },
      xml,
    );
  }

  private internalError(res: ServerResponse, rec: S3RequestRecord, err: unknown): void {
    if (err instanceof ClientGone) return;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const message = `embedded S3 front server: ${err instanceof Error ? err.message : String(err)}`;
    this.sendError(res, rec, 500, 'InternalError', message);
  }
}

/** Reads the whole request body (s3rver writes in place: never forward a partial upload). */
function readBody(req: IncomingMessage, rec: S3RequestRecord): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      rec.bytesIn += c.length;
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new ClientGone('client closed the request'));
    });
  });
}

function forwardHeaders(h: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
  return out;
}

function responseHeaders(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i].toLowerCase())) out.push([raw[i], raw[i + 1]]);
  }
  return out;
}
