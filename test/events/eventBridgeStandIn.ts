import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A STAND-IN for Amazon EventBridge, because AWS is not reachable here: a
 * loopback HTTP server that speaks the one operation Modelgraph uses,
 * PutEvents, in EventBridge's AWS JSON 1.1 protocol (POST /, header
 * `X-Amz-Target: AWSEvents.PutEvents`, body `{ Entries: [...] }`), records
 * every request, and answers like EventBridge: `{ FailedEntryCount, Entries:
 * [{ EventId } | { ErrorCode, ErrorMessage }] }` in request order. It checks
 * only what a stand-in can (protocol, headers, a SigV4 Authorization for the
 * "events" service); it is not EventBridge.
 */
export interface PutEventsEntry {
  EventBusName?: string;
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Time?: number | string;
  Resources?: string[];
}

export interface RecordedPutEvents {
  target: string | undefined;
  contentType: string | undefined;
  authorization: string | undefined;
  entries: PutEventsEntry[];
}

export class EventBridgeStandIn {
  readonly requests: RecordedPutEvents[] = [];
  /** The entries answered with an EventId (accepted), in arrival order. */
  readonly accepted: PutEventsEntry[] = [];
  /** Entries (counted over all requests) to answer with an ErrorCode: EventBridge's partial failure. */
  failEntries = 0;
  /** Answer every request with HTTP 503 (a throttled or unavailable service). */
  unavailable = false;
  private server: Server | undefined;
  port = 0;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const target = req.headers['x-amz-target'] as string | undefined;
      if (req.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'UnknownOperationException', message: `not a PutEvents: ${target}` }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Entries: PutEventsEntry[] };
      this.requests.push({
        target,
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        entries: body.Entries,
      });
      if (this.unavailable) {
        res.writeHead(503, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'ServiceUnavailableException', message: 'stand-in unavailable' }));
        return;
      }
      const entries = body.Entries.map((entry) => {
        if (this.failEntries > 0) {
          this.failEntries--;
          return { ErrorCode: 'InternalFailure', ErrorMessage: 'stand-in partial failure' };
        }
        this.accepted.push(entry);
        return { EventId: randomUUID() };
      });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify({ FailedEntryCount: entries.filter((e) => 'ErrorCode' in e).length, Entries: entries }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Every accepted-or-not entry, in arrival order. */
  entries(): PutEventsEntry[] {
    return this.requests.flatMap((r) => r.entries);
  }
}
