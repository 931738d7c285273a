/**
 * Events to a real loopback webhook receiver that verifies every signature
 * (HMAC-SHA256 of the raw body), from a local server on the embedded S3
 * server: a scripted sequence of moves gives exactly the expected events; a
 * receiver that is down or hangs delays no mutation, and gets the events once
 * it is back. Nothing here measures time: it waits for states and events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelgraphEvent } from '../../src/events/event';
import { stagePointerKey } from '../../src/registry/bucketLayout';
import { readDeploymentHistory, readModelRegistry } from '../../src/registry/modelRegistryFeed';
import { parseJsonDocument, StagePointerSchema, type StagePointer } from '../../src/registry/versionMetadata';
import { startTestStack, type TestStack } from '../support/stack';
import { WEBHOOK_SECRET, WebhookReceiver, waitFor } from './support';

let receiver: WebhookReceiver;
let stack: TestStack;

beforeAll(async () => {
  receiver = new WebhookReceiver();
  await receiver.start();
  stack = await startTestStack({
    env: {
      EVENTS_WEBHOOK_URL: receiver.url,
      EVENTS_WEBHOOK_SECRET: WEBHOOK_SECRET,
      EVENTS_CATCHUP_SECONDS: '1',
      EVENTS_TIMEOUT_MS: '1000',
      EVENTS_MAX_ATTEMPTS: '2',
    },
  });
});

afterAll(async () => {
  await stack?.close();
  await receiver?.stop();
});

async function pointer(model: string, stage: 'PRODUCTION' | 'STAGING' = 'PRODUCTION'): Promise<StagePointer> {
  const key = stagePointerKey(model, stage);
  return parseJsonDocument(StagePointerSchema, (await stack.server.runtime.store.get(key)).body, key);
}

/** A mutation as the admin (or `token`); `settle: false` returns as soon as it answered, before its events are delivered. */
async function write(query: string, variables: Record<string, unknown> = {}, token?: string, settle = true) {
  const res = await stack.gql(query, variables, { token: token ?? stack.server.writeToken, settle });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!;
}

/** Waits until the receiver holds (by id) every one of `ids`; answers them in that order. */
function eventsWithIds(ids: readonly string[]): Promise<ModelgraphEvent[]> {
  return waitFor(
    () => {
      const byId = new Map(receiver.unique().map((e) => [e.id, e]));
      return ids.every((id) => byId.has(id)) ? ids.map((id) => byId.get(id)!) : undefined;
    },
    `events ${ids.join(', ')}`,
  );
}

describe('a scripted sequence of moves', () => {
  it('promote, rollback, traffic and a staging promotion: one event each, from the pointer records, signed', async () => {
    // Prepare
    const model = 'stocks/universal';
    const before = await pointer(model);
    // Act
    await write(`mutation { promote(model: "${model}", version: "v1.0.0", reason: "try v1.0") { generation } }`);
    await write(`mutation { rollback(model: "${model}", reason: "back") { generation } }`);
    await write(
      `mutation { configureTraffic(model: "${model}", shadow: true, canaryPercent: 5, reason: "shadow") { generation } }`,
    );
    await write(
      `mutation { promote(model: "${model}", version: "v1.0.0", stage: STAGING, reason: "candidate") { generation } }`,
    );
    // Assess: the records the moves wrote are the events' source
    const production = (await pointer(model)).history.filter((r) => r.generation > before.generation);
    const staging = (await pointer(model, 'STAGING')).history;
    expect(production.map((r) => r.action)).toEqual(['PROMOTE', 'ROLLBACK', 'TRAFFIC']);
    expect(staging.map((r) => r.action)).toEqual(['PROMOTE']);
    const records = [...production, ...staging];
    const events = await eventsWithIds(records.map((r) => r.id));
    const g = before.generation;
    expect(events.map((e) => [e.type, e.target, e.from, e.to, e.version, e.generation, e.reason])).toEqual([
      ['PROMOTED', 'production', 'v1.1.0', 'v1.0.0', 'v1.0.0', g + 1, 'try v1.0'],
      ['ROLLED_BACK', 'production', 'v1.0.0', 'v1.1.0', 'v1.1.0', g + 2, 'back'],
      ['TRAFFIC_CHANGED', 'production', 'v1.1.0', 'v1.1.0', 'v1.1.0', g + 3, 'shadow'],
      ['PROMOTED', 'staging', null, 'v1.0.0', 'v1.0.0', 1, 'candidate'],
    ]);
    expect(events[2].traffic).toEqual({ shadow: true, canaryPercent: 5 });
    for (const [i, e] of events.entries()) {
      expect(e).toMatchObject({ model, by: records[i].by, at: records[i].at });
      expect(e.by).toBe('admin'); // the authenticated principal
    }
    // Exactly these events for this model beyond the baseline (duplicates, if any, are the same event)
    const forModel = receiver.unique((e) => e.model === model && (e.target === 'staging' || e.generation > g));
    expect(forModel.map((e) => e.id).sort()).toEqual(records.map((r) => r.id).sort());
    for (const r of receiver.received.filter((r) => r.event.model === model)) {
      expect(r.signatureValid).toBe(true);
      expect(r.idHeader).toBe(r.event.id);
      expect(r.typeHeader).toBe(r.event.type);
      const first = forModel.find((e) => e.id === r.event.id);
      if (first) expect(r.event).toEqual(first); // a redelivery carries the same event
    }
  });

  it('approve, reject, set and delete an alias, set a policy; registrations of the seed are events too', async () => {
    // Prepare: a second principal (four eyes: the seed published the demo versions)
    const model = 'etfs/SPY';
    const reviewer = stack.server.principals.add('reviewer', ['models:write', 'models:approve']);
    // Act
    await write(
      `mutation { approveVersion(model: "${model}", version: "v1.0.0", note: "paper ok") { status } }`,
      {},
      reviewer,
    );
    await write(`mutation { rejectVersion(model: "${model}", version: "v1.1.0", note: "slippage") { status } }`);
    await write(
      `mutation { setAlias(model: "${model}", alias: "champion", version: "v1.0.0", reason: "r1") { __typename } }`,
    );
    await write(
      `mutation { setAlias(model: "${model}", alias: "champion", version: "v1.1.0", reason: "r2") { __typename } }`,
    );
    await write(`mutation { deleteAlias(model: "${model}", alias: "champion", reason: "r3") { __typename } }`);
    await write(
      `mutation { setPromotionPolicy(model: "${model}", policy: { requireApproval: true, maxFeatureChanges: 0 }, reason: "desk") { __typename } }`,
    );
    // Assess: the governance documents' records, read back from the bucket
    const doc = async (key: string) => JSON.parse((await stack.server.runtime.store.get(key)).body.toString('utf8'));
    const approval0 = await doc(`${model}/approvals/v1.0.0.json`);
    const approval1 = await doc(`${model}/approvals/v1.1.0.json`);
    const alias = await doc(`${model}/aliases/champion.json`);
    const policy = await doc(`${model}/policy.json`);
    const records = [...approval0.history, ...approval1.history, ...alias.history, ...policy.history];
    const events = await eventsWithIds(records.map((r: { id: string }) => r.id));
    const summary = events.map((e) => [e.type, e.version, e.target, e.from, e.to, e.generation, e.by, e.reason]);
    expect(summary).toEqual([
      ['VERSION_REGISTERED', 'v1.0.0', null, null, 'PENDING', 1, approval0.published_by, null],
      ['VERSION_APPROVED', 'v1.0.0', null, 'PENDING', 'APPROVED', 2, 'reviewer', 'paper ok'],
      ['VERSION_REGISTERED', 'v1.1.0', null, null, 'PENDING', 1, approval1.published_by, null],
      ['VERSION_REJECTED', 'v1.1.0', null, 'PENDING', 'REJECTED', 2, 'admin', 'slippage'],
      ['ALIAS_SET', 'v1.0.0', 'alias:champion', null, 'v1.0.0', 1, 'admin', 'r1'],
      ['ALIAS_SET', 'v1.1.0', 'alias:champion', 'v1.0.0', 'v1.1.0', 2, 'admin', 'r2'],
      ['ALIAS_DELETED', 'v1.1.0', 'alias:champion', 'v1.1.0', null, 3, 'admin', 'r3'],
      ['POLICY_CHANGED', null, null, null, null, 1, 'admin', 'desk'],
    ]);
    expect(events.at(-1)!.policy).toMatchObject({ requireApproval: true, maxFeatureChanges: 0 });
    const governanceEvents = receiver.unique(
      (e) => e.model === model && e.target !== 'production' && e.target !== 'staging',
    );
    expect(governanceEvents.map((e) => e.id).sort()).toEqual(records.map((r: { id: string }) => r.id).sort());
    for (const r of receiver.received) expect(r.signatureValid).toBe(true);
  });
});

describe('a receiver that is down or hangs', () => {
  it('delays no mutation, and gets the event once it answers again', async () => {
    // Prepare: the receiver accepts connections and never answers
    const model = 'etfs/QQQ';
    receiver.mode = 'hanging';
    // Act: the mutation answers although the event cannot be delivered
    const moved = await write(
      `mutation { rollback(model: "${model}", to: "v1.0.0", reason: "hang") { generation } }`,
      {},
      undefined,
      false,
    );
    const record = (await pointer(model)).history.at(-1)!;
    expect(record.generation).toBe(moved.rollback.generation);
    // Assess: the delivery of that very event is still hanging after the mutation answered
    await waitFor(() => receiver.attempted.some((e) => e.id === record.id) || undefined, 'a delivery attempt');
    expect(receiver.unique().some((e) => e.id === record.id)).toBe(false);
    // Act: the receiver answers again → the next attempt or catch-up delivers it
    receiver.mode = 'up';
    const [event] = await eventsWithIds([record.id]);
    expect(event).toMatchObject({ type: 'ROLLED_BACK', model, generation: record.generation, to: 'v1.0.0' });
  });

  it('refusing connections: the move and the registries are written; the event arrives after the receiver is back', async () => {
    // Prepare
    const model = 'etfs/IWM';
    await receiver.stop(); // connection refused
    // Act
    const moved = await write(
      `mutation { rollback(model: "${model}", to: "v1.0.0", reason: "down") { generation } }`,
      {},
      undefined,
      false,
    );
    // Assess: the move, model_registry.json and the feed do not depend on the receiver
    const record = (await pointer(model)).history.at(-1)!;
    expect(record.generation).toBe(moved.rollback.generation);
    const registry = await readModelRegistry(stack.server.runtime.store);
    expect(registry.find((m) => m.model === model)!.production!.generation).toBe(record.generation);
    expect((await readDeploymentHistory(stack.server.runtime.store)).some((d) => d.id === record.id)).toBe(true);
    expect(receiver.unique().some((e) => e.id === record.id)).toBe(false);
    // Act: back on the same port
    await receiver.start();
    const [event] = await eventsWithIds([record.id]);
    expect(event).toMatchObject({ type: 'ROLLED_BACK', model, by: 'admin', reason: 'down' });
  });
});

describe('a move written by another process that never delivered it', () => {
  it('is delivered by the running server’s periodic catch-up, which also repairs the registries', async () => {
    // Prepare: a writer with no listeners at all (as a process killed right after its pointer write)
    const { Deployments } = await import('../../src/registry/deployments');
    const { Registry } = await import('../../src/registry/registry');
    const store = stack.server.runtime.store;
    const other = new Deployments(new Registry(store, { pointerTtlMs: 0, maxStaleMs: 0 }));
    const model = 'etfs/SPY';
    // Act
    const { record } = await other.promote({
      model,
      version: 'v1.0.0',
      stage: 'STAGING',
      by: 'other-process',
      reason: 'cron',
    });
    // Assess: within the catch-up interval (EVENTS_CATCHUP_SECONDS=1), without any further move
    const [event] = await eventsWithIds([record.id]);
    expect(event).toMatchObject({
      type: 'PROMOTED',
      target: 'staging',
      by: 'other-process',
      generation: record.generation,
    });
    await waitFor(async () => {
      const entry = (await readModelRegistry(store)).find((m) => m.model === model);
      return entry?.staging?.generation === record.generation || undefined;
    }, 'model_registry.json at the new staging generation');
    await waitFor(
      async () => (await readDeploymentHistory(store)).some((d) => d.id === record.id) || undefined,
      'the feed with the new record',
    );
  });
});
