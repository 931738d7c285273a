import { createHmac, timingSafeEqual } from 'node:crypto';
import { DETAIL_TYPES, EVENT_SOURCE, type ModelgraphEvent } from './event';

/**
 * Where events go. `send` delivers the events in order and answers how many
 * of them, from the first, were accepted (fewer than all: the rest are sent
 * again later, from the same records). It may throw when none was accepted.
 * Retries with backoff are the deliverer's; a target makes one attempt.
 */
export interface EventTarget {
  readonly name: string;
  send(events: readonly ModelgraphEvent[], signal: AbortSignal): Promise<number>;
}

export const SIGNATURE_HEADER = 'x-modelgraph-signature';
export const EVENT_ID_HEADER = 'x-modelgraph-event-id';
export const EVENT_TYPE_HEADER = 'x-modelgraph-event-type';

/** `sha256=<hex HMAC-SHA256 of the raw body with the secret>`: the X-Modelgraph-Signature value. */
export function signature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is the signature of `body` (constant-time comparison): what a receiver checks. */
export function verifySignature(secret: string, body: string | Buffer, header: string | undefined | null): boolean {
  if (!header) return false;
  const expected = Buffer.from(signature(secret, body));
  const got = Buffer.from(header);
  return expected.length === got.length && timingSafeEqual(expected, got);
}

/**
 * POSTs each event as its own JSON body to `url`, signed with HMAC-SHA256
 * (X-Modelgraph-Signature) and named by X-Modelgraph-Event-Id. A 2xx answer is
 * delivery; anything else (or no answer within `timeoutMs`) is not.
 */
export function webhookTarget(opts: { url: string; secret: string; timeoutMs: number }): EventTarget {
  return {
    name: 'webhook',
    async send(events, signal) {
      let delivered = 0;
      for (const event of events) {
        const body = JSON.stringify(event);
        const res = await fetch(opts.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'modelgraph-events',
            [SIGNATURE_HEADER]: signature(opts.secret, body),
            [EVENT_ID_HEADER]: event.id,
            [EVENT_TYPE_HEADER]: event.type,
          },
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]),
        }).catch((err: unknown) => {
          if (delivered > 0) return undefined; // report the prefix that went through
          throw err;
        });
        if (!res) return delivered;
        await res.arrayBuffer().catch(() => undefined); // free the connection
        if (res.status < 200 || res.status >= 300) {
          if (delivered > 0) return delivered;
          throw new Error(`webhook answered HTTP ${res.status}`);
        }
        delivered++;
      }
      return delivered;
    },
  };
}

/** PutEvents takes at most 10 entries per request. */
const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * EventBridge PutEvents to `busName`: Source "modelgraph", one DetailType per
 * event type, Detail = the event JSON. The SDK client is imported on first use
 * (a dynamic import, its own chunk in the Lambda bundle), so it costs the API's
 * cold start nothing.
 */
export function eventBridgeTarget(opts: {
  busName: string;
  region: string;
  endpoint?: string;
  timeoutMs: number;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}): EventTarget {
  type Client = import('@aws-sdk/client-eventbridge').EventBridgeClient;
  let client: Promise<{
    client: Client;
    PutEventsCommand: typeof import('@aws-sdk/client-eventbridge').PutEventsCommand;
  }>;
  const load = () =>
    (client ??= (async () => {
      const [{ EventBridgeClient, PutEventsCommand }, { NodeHttpHandler }] = await Promise.all([
        import('@aws-sdk/client-eventbridge'),
        import('@smithy/node-http-handler'),
      ]);
      return {
        client: new EventBridgeClient({
          region: opts.region,
          endpoint: opts.endpoint,
          credentials: opts.credentials,
          maxAttempts: 2, // the deliverer retries with its own backoff
          requestHandler: new NodeHttpHandler({
            connectionTimeout: Math.min(3_000, opts.timeoutMs),
            requestTimeout: opts.timeoutMs,
          }),
        }),
        PutEventsCommand,
      };
    })());
  return {
    name: 'eventbridge',
    async send(events, signal) {
      const { client, PutEventsCommand } = await load();
      let delivered = 0;
      for (let i = 0; i < events.length; i += PUT_EVENTS_MAX_ENTRIES) {
        const batch = events.slice(i, i + PUT_EVENTS_MAX_ENTRIES);
        let out;
        try {
          out = await client.send(
            new PutEventsCommand({
              Entries: batch.map((e) => ({
                EventBusName: opts.busName,
                Source: EVENT_SOURCE,
                DetailType: DETAIL_TYPES[e.type],
                Detail: JSON.stringify(e),
                Time: new Date(e.at),
                Resources: [],
              })),
            }),
            { abortSignal: signal },
          );
        } catch (err) {
          if (delivered > 0) return delivered;
          throw err;
        }
        // Entries answer in request order; a failed one carries an ErrorCode.
        const firstFailed = (out.Entries ?? []).findIndex((e) => e.ErrorCode);
        if (firstFailed >= 0 || (out.FailedEntryCount ?? 0) > 0) {
          const accepted = firstFailed >= 0 ? firstFailed : 0;
          delivered += accepted;
          if (delivered > 0) return delivered;
          const entry = out.Entries?.[firstFailed];
          throw new Error(
            `EventBridge refused the event: ${entry?.ErrorCode ?? 'failed'} ${entry?.ErrorMessage ?? ''}`,
          );
        }
        delivered += batch.length;
      }
      return delivered;
    },
  };
}
