import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../../src/events/targets';
import type { ModelgraphEvent } from '../../src/events/event';

export const WEBHOOK_SECRET = 'events-test-secret-0123456789abcdef';

export interface ReceivedEvent {
  event: ModelgraphEvent;
  signatureValid: boolean;
  idHeader: string | undefined;
  typeHeader: string | undefined;
}

/**
 * A real loopback HTTP webhook receiver. It verifies the signature of every
 * request against the raw body and records what arrived. `mode` decides its
 * answer: 'up' (204), 'failing' (503), 'hanging' (never answers).
 */
export class WebhookReceiver {
  readonly received: ReceivedEvent[] = [];
  mode: 'up' | 'failing' | 'hanging' = 'up';
  /** Every event a request carried, whatever it was answered (hanging and failing ones too). */
  readonly attempted: ModelgraphEvent[] = [];
  /** Requests that arrived, whatever they were answered. */
  requests = 0;
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();
  port = 0;

  constructor(private readonly secret = WEBHOOK_SECRET) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/modelgraph`;
  }

  /** Starts listening (on `port`, or an ephemeral one the first time). */
  async start(port = this.port): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops listening: connections are refused until start() again (on the same port). */
  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    this.requests++;
    try {
      this.attempted.push(JSON.parse(raw.toString('utf8')) as ModelgraphEvent);
    } catch {
      // recorded below as received (and failing) when up
    }
    if (this.mode === 'hanging') {
      this.hanging.add(res);
      return;
    }
    if (this.mode === 'failing') {
      res.writeHead(503).end();
      return;
    }
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    this.received.push({
      event: JSON.parse(raw.toString('utf8')) as ModelgraphEvent,
      signatureValid: verifySignature(this.secret, raw, header('x-modelgraph-signature')),
      idHeader: header('x-modelgraph-event-id'),
      typeHeader: header('x-modelgraph-event-type'),
    });
    res.writeHead(204).end();
  }

  /** Received events, one per id (delivery is at least once). */
  unique(filter: (e: ModelgraphEvent) => boolean = () => true): ModelgraphEvent[] {
    const byId = new Map<string, ModelgraphEvent>();
    for (const r of this.received) if (filter(r.event) && !byId.has(r.event.id)) byId.set(r.event.id, r.event);
    return [...byId.values()];
  }
}

/** Polls `probe` until it answers a value other than undefined; fails after a generous deadline. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
