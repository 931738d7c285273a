/**
 * Fault injection for the embedded S3 server: reliability tests make chosen
 * requests fail the ways a real network and a real S3 do (an error status, a
 * reset connection, no answer at all, a cut-off or damaged body) and assert on
 * what the registry does about it.
 *
 * The front server asks {@link FaultTable.take} which fault, if any, a request
 * gets; {@link FaultTable.admit} applies the ones that act before the request
 * is forwarded (reset, stall); {@link injectedStatus} and
 * {@link faultedResponse} say what the others answer.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

import { UnreachableCaseError } from '../../unreachable';

/** What a fault's `match` sees. */
export interface S3RequestInfo {
  method: string;
  bucket: string;
  key: string;
  query: string;
  headers: IncomingHttpHeaders;
}

export type FaultKind = 'status' | 'reset' | 'stall' | 'truncate' | 'corrupt';

export interface FaultSpec {
  /** Which requests the fault applies to. */
  match: (req: S3RequestInfo) => boolean;
  /**
   * - 'status': answer `status` (default 503) with an S3 XML error body; the request is not forwarded.
   * - 'reset': destroy the connection without answering; the request is not forwarded.
   * - 'stall': do not answer (request not forwarded) until clearFaults(), which lets it proceed
   *   normally, or close(), which destroys it.
   * - 'truncate': forward, then send the headers with the full Content-Length but only half the
   *   body and destroy the connection. For a response without a body (PUT, DELETE, HEAD) the
   *   connection is destroyed instead of answering: the write happened, the client cannot know.
   * - 'corrupt': forward, then flip bytes of the response body (first, middle and last byte);
   *   length and headers (ETag…) unchanged.
   */
  kind: FaultKind;
  /** For kind 'status' (default 503). */
  status?: number;
  /** S3 error code for kind 'status' (default: InternalError for 500, ServiceUnavailable for 503, …). */
  code?: string;
  /** Apply to this many matching requests, then stop (default: until clearFaults()). */
  times?: number;
}

/** Faults that let the request reach s3rver and then damage its answer. */
export type ResponseFaultKind = Extract<FaultKind, 'truncate' | 'corrupt'>;

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
}

interface Stalled {
  resume: () => void;
  destroy: () => void;
}

/** The faults injected into one embedded server, and the requests they are stalling. */
export class FaultTable {
  private faults: ActiveFault[] = [];
  private readonly stalled = new Set<Stalled>();

  inject(spec: FaultSpec): void {
    if (spec.kind === 'status' && spec.status !== undefined && (spec.status < 400 || spec.status > 599)) {
      throw new Error(`fault status must be 4xx or 5xx, got ${spec.status}`);
    }
    this.faults.push({ spec, remaining: spec.times ?? Infinity });
  }

  /** The first fault matching the request, counted as applied; undefined when none matches. */
  take(info: S3RequestInfo): FaultSpec | undefined {
    if (this.faults.length === 0) return undefined;
    for (const f of this.faults) {
      if (f.remaining <= 0) continue;
      let hit = false;
      try {
        hit = f.spec.match(info);
      } catch {
        hit = false; // a throwing matcher matches nothing rather than failing the request
      }
      if (hit) {
        f.remaining--;
        this.faults = this.faults.filter((x) => x.remaining > 0);
        return f.spec;
      }
    }
    return undefined;
  }

  /**
   * Applies what a fault does before the request is read and forwarded: 'reset'
   * destroys the connection, 'stall' waits for clear() (or close(), or the
   * client giving up). Resolves whether the request goes on.
   */
  async admit(fault: FaultSpec, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    switch (fault.kind) {
      case 'reset':
        req.socket.destroy();
        return false;
      case 'stall':
        return (await this.stall(req, res)) && !res.destroyed;
      case 'status':
      case 'truncate':
      case 'corrupt':
        return true;
      default:
        throw new UnreachableCaseError(fault.kind);
    }
  }

  /** Removes all faults and lets stalled requests proceed. */
  clear(): void {
    this.faults = [];
    const stalled = [...this.stalled];
    this.stalled.clear();
    for (const s of stalled) s.resume();
  }

  /** Removes all faults and destroys stalled requests (the server is closing). */
  close(): void {
    this.faults = [];
    for (const s of this.stalled) s.destroy();
    this.stalled.clear();
  }

  private stall(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const entry: Stalled = {
        resume: () => resolve(true),
        destroy: () => {
          req.socket.destroy();
          resolve(false);
        },
      };
      this.stalled.add(entry);
      res.on('close', () => {
        if (this.stalled.delete(entry)) resolve(false);
      });
    });
  }
}

/** The kind of a fault that damages s3rver's answer; undefined for any other fault. */
export function responseFaultOf(fault: FaultSpec | undefined): ResponseFaultKind | undefined {
  return fault?.kind === 'truncate' || fault?.kind === 'corrupt' ? fault.kind : undefined;
}

/** Status and S3 error code a 'status' fault answers with. */
export function injectedStatus(fault: FaultSpec): { status: number; code: string } {
  const status = fault.status ?? 503;
  return { status, code: fault.code ?? codeForStatus(status) };
}

/** Default S3 error code for a status used by fault injection. */
export function codeForStatus(status: number): string {
  switch (status) {
    case 500:
      return 'InternalError';
    case 503:
      return 'ServiceUnavailable';
    case 502:
      return 'BadGateway';
    case 504:
      return 'GatewayTimeout';
    case 429:
      return 'TooManyRequests';
    case 403:
      return 'AccessDenied';
    case 404:
      return 'NoSuchKey';
    default:
      return 'InjectedFault';
  }
}

/** What the client gets instead of s3rver's complete answer. */
export type FaultedResponse =
  /** No answer at all: the connection is destroyed. */
  | { action: 'destroy' }
  /** s3rver's status with these headers and body, then the connection ends or is destroyed. */
  | { action: 'send'; headers: Array<[string, string]>; body: Buffer; then: 'end' | 'destroy' };

/**
 * 'truncate': the full Content-Length but half the body, then a destroyed
 * connection; a bodiless answer (PUT, DELETE, HEAD) becomes no answer at all.
 * 'corrupt': first, middle and last byte flipped, headers (ETag…) unchanged.
 */
export function faultedResponse(
  kind: ResponseFaultKind,
  method: string,
  headers: Array<[string, string]>,
  data: Buffer,
): FaultedResponse {
  switch (kind) {
    case 'truncate': {
      // nothing to truncate: the operation happened but the client gets no answer
      if (data.length === 0 || method === 'HEAD') return { action: 'destroy' };
      const withLength = headers.filter(([k]) => k.toLowerCase() !== 'content-length');
      withLength.push(['Content-Length', String(data.length)]);
      return {
        action: 'send',
        headers: withLength,
        body: data.subarray(0, Math.floor(data.length / 2)),
        then: 'destroy',
      };
    }
    case 'corrupt': {
      const out = Buffer.from(data);
      if (out.length > 0) {
        for (const i of new Set([0, Math.floor(out.length / 2), out.length - 1])) out[i] ^= 0xff;
      }
      return { action: 'send', headers, body: out, then: 'end' };
    }
    default:
      throw new UnreachableCaseError(kind);
  }
}
