/**
 * The catch-up against the embedded S3 server's request log: it re-reads only
 * documents whose listing ETag differs from the watermark's, and several
 * deliverers (other processes: each its own S3 client) catching up at once
 * deliver every event at least once and leave one monotonic watermark.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDocumentOf } from '../../src/events/derive';
import { EventDelivery } from '../../src/events/eventDelivery';
import { webhookTarget } from '../../src/events/targets';
import { WatermarkStore } from '../../src/events/watermark';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { EVENTS_WATERMARK_KEY, stagePointerKey } from '../../src/registry/bucketLayout';
import { Deployments } from '../../src/registry/deployments';
import { readModelRegistry } from '../../src/registry/modelRegistryFeed';
import { Registry } from '../../src/registry/registry';
import { ObjectStore } from '../../src/storage/objectStore';
import { createS3Client } from '../../src/storage/s3Client';
import { startTestStack, type TestStack } from '../support/stack';
import { WEBHOOK_SECRET, WebhookReceiver, waitFor } from './support';

let stack: TestStack;
let receiver: WebhookReceiver;
const clients: ReturnType<typeof createS3Client>[] = [];

beforeAll(async () => {
  receiver = new WebhookReceiver();
  await receiver.start();
  stack = await startTestStack();
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await stack?.close();
  await receiver?.stop();
});

/** What another process would have: its own S3 client, store and registry over the same bucket. */
function otherProcess(): { store: ObjectStore; registry: Registry } {
  const client = createS3Client({
    region: 'us-east-1',
    endpoint: stack.server.s3!.endpoint,
    credentials: EMBEDDED_S3_CREDENTIALS,
  });
  clients.push(client);
  const store = new ObjectStore(client, stack.server.runtime.bucket);
  return { store, registry: new Registry(store, { pointerTtlMs: 0, maxStaleMs: 0 }) };
}

describe('catch-up', () => {
  it('with nothing new, re-reads no document of record (listing ETags equal the watermark’s) and writes nothing', async () => {
    // Prepare: the start-up catch-up has run (startTestStack waits for it); once more to be sure
    const events = stack.server.runtime.events;
    await events.catchUp();
    const s3 = stack.server.s3!;
    s3.resetRequests();
    // Act
    const report = await events.catchUp();
    // Assess
    expect(report.listed).toBeGreaterThan(0);
    expect(report).toMatchObject({ read: 0, delivered: 0, pending: 0 });
    const requests = s3.requests();
    expect(requests.filter((r) => r.method === 'GET' && recordDocumentOf(r.key))).toEqual([]);
    expect(requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([]);
    expect(requests.filter((r) => r.key === EVENTS_WATERMARK_KEY).map((r) => r.status)).toEqual([304]);
  });

  it('after a move nobody delivered, reads exactly that pointer and brings the registries to it', async () => {
    // Prepare
    const model = 'etfs/QQQ';
    const other = otherProcess();
    const { record } = await new Deployments(other.registry).rollback({
      model,
      stage: 'PRODUCTION',
      to: 'v1.0.0',
      by: 'other-process',
      reason: 'missed',
    });
    const s3 = stack.server.s3!;
    s3.resetRequests();
    // Act
    const report = await stack.server.runtime.events.catchUp();
    // Assess
    expect(report).toMatchObject({ read: 1, pending: 0 });
    const read = s3.requests().filter((r) => r.method === 'GET' && recordDocumentOf(r.key));
    expect(read.map((r) => r.key)).toEqual([stagePointerKey(model, 'PRODUCTION')]);
    const entry = (await readModelRegistry(stack.server.runtime.store)).find((m) => m.model === model);
    expect(entry!.production!.generation).toBe(record.generation);
    const marks = await new WatermarkStore(stack.server.runtime.store).readOrEmpty();
    expect(marks[stagePointerKey(model, 'PRODUCTION')]).toMatchObject({ generation: record.generation });
  });

  it('three deliverers catching up at once: every event at least once, one monotonic watermark', async () => {
    // Prepare: moves nobody delivered, on two models
    const writer = otherProcess();
    const deployments = new Deployments(writer.registry);
    const ids: string[] = [];
    for (const model of ['etfs/SPY', 'etfs/IWM']) {
      for (const to of ['v1.0.0', model === 'etfs/SPY' ? 'v1.1.0' : 'v1.0.0', 'v1.0.0']) {
        const { record } = await deployments.rollback({ model, stage: 'PRODUCTION', to, by: 'racer', reason: 'race' });
        ids.push(record.id);
      }
    }
    const deliverers = [0, 1, 2].map(() => {
      const p = otherProcess();
      return new EventDelivery({
        ...p,
        targets: [webhookTarget({ url: receiver.url, secret: WEBHOOK_SECRET, timeoutMs: 5_000 })],
      });
    });
    // Act
    await Promise.all(deliverers.map((d) => d.catchUp()));
    // Contention (three writers on the registries and the watermark) may leave work for a next
    // catch-up, by design: catch up until one finds nothing left.
    await waitFor(async () => {
      const report = await deliverers[0].catchUp();
      return report.read === 0 && report.pending === 0 ? report : undefined;
    }, 'a catch-up with nothing left to do');
    // Assess
    const got = new Set(receiver.unique().map((e) => e.id));
    for (const id of ids) expect(got.has(id), id).toBe(true);
    for (const r of receiver.received) expect(r.signatureValid).toBe(true);
    const marks = await new WatermarkStore(stack.server.runtime.store).readOrEmpty();
    for (const model of ['etfs/SPY', 'etfs/IWM']) {
      const key = stagePointerKey(model, 'PRODUCTION');
      const pointer = await stack.server.runtime.store.get(key);
      const generation = JSON.parse(pointer.body.toString('utf8')).generation;
      expect(marks[key].generation, key).toBe(generation);
      expect(marks[key].etag).toBe(pointer.etag);
    }
    await Promise.all(deliverers.map((d) => d.stop()));
  });
});
