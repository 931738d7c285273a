/**
 * The embedded S3 server's front: a node:http server that receives each
 * request completely, logs it, applies injected faults, takes the key's locks,
 * answers the preconditions s3rver cannot evaluate, and forwards the rest to
 * s3rver (see embeddedS3.ts for what it adds and why).
 */
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import type S3rver from 's3rver';

import { UnreachableCaseError } from '../../unreachable';
import {
  type FaultedResponse,
  faultedResponse,
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
  deleteVerdict,
  PROCEED,
  type PreconditionVerdict,
  readConditions,
  readVerdict,
  type Refusal,
  writeConditions,
  writeVerdict,
} from './preconditions';
import { decodeAwsChunked, isAwsChunked, PayloadError, verifyPayload } from './payload';
import { RequestLog, type S3RequestRecord } from './requestLog';
import { currentObject, deleteEach, storedTarget } from './s3rverStore';
import {
  classify,
  errorXml,
  isSafeBucketSegment,
  isStorableKey,
  isValidBucketName,
  newRequestId,
  parseCopySource,
  parseDeleteObjects,
  parseTarget,
  S3_ERROR_MESSAGES,
  type S3Operation,
  type S3Target,
} from './s3Protocol';

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

/**
 * How long the front keeps an idle client connection open: longer than the SDK's
 * idle sockets live, so fewer "server closed an idle kept-alive socket just as the
 * client reused it" races. close() ends every connection regardless.
 */
export const FRONT_KEEP_ALIVE_TIMEOUT_MS = 65_000;

class ClientGone extends Error {}

export class FrontServer {
  readonly log: RequestLog;
  private readonly faults = new FaultTable();
  private readonly locks = new LockTable();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private closing?: Promise<void>;

  constructor(
    private readonly backend: S3rver,
    private readonly backendPort: number,
    logLimit: number,
  ) {
    this.log = new RequestLog(logLimit);
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = FRONT_KEEP_ALIVE_TIMEOUT_MS;
    this.server.headersTimeout = FRONT_KEEP_ALIVE_TIMEOUT_MS + 1_000;
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
    const rec = this.log.open(target, req.headers);
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
      this.sendError(res, rec, 400, 'InvalidArgument', S3_ERROR_MESSAGES.UnstorableKey);
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
        return readVerdict(conditions, await currentObject(this.backend.store, t.bucket, t.key));
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
        return writeVerdict(conditions, await storedTarget(this.backend.store, t.bucket, t.key));
      }

      case 'DeleteObject': {
        const conditions = writeConditions(headers);
        delete headers['if-match'];
        delete headers['if-none-match'];
        if (!conditions) return PROCEED;
        return deleteVerdict(conditions, await storedTarget(this.backend.store, t.bucket, t.key));
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
    return copySourceVerdict(conditions, await currentObject(this.backend.store, src.bucket, src.key));
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
        this.sendError(res, rec, 412, 'PreconditionFailed', S3_ERROR_MESSAGES.PreconditionFailed, {
          Condition: verdict.condition,
        });
        return;
      case 'noSuchKey':
        this.sendError(res, rec, 404, 'NoSuchKey', S3_ERROR_MESSAGES.NoSuchKey, { Key: key });
        return;
      case 'notImplemented':
        this.sendError(res, rec, 501, 'NotImplemented', S3_ERROR_MESSAGES.NotImplemented, { Header: verdict.header });
        return;
      default:
        throw new UnreachableCaseError(verdict);
    }
  }

  /**
   * DeleteObjects, answered by the front (see deleteEach). Returns false (not handled)
   * for a missing bucket or a malformed body: s3rver answers those.
   */
  private async deleteObjects(t: S3Target, body: Buffer, res: ServerResponse, rec: S3RequestRecord): Promise<boolean> {
    const request = parseDeleteObjects(body.toString('utf8'));
    if (!request || !(await this.backend.store.getBucket(t.bucket))) return false;
    const xml = await deleteEach(this.backend.store, t.bucket, request);
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
