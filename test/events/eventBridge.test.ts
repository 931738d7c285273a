/**
 * Events to EventBridge (PutEvents), tested against a loopback STAND-IN
 * endpoint (eventBridgeStandIn.ts) because AWS is not reachable here: the
 * real @aws-sdk/client-eventbridge client, pointed at it with
 * EVENTBRIDGE_ENDPOINT, sends AWS JSON 1.1 (`X-Amz-Target: AWSEvents.PutEvents`,
 * SigV4 for "events"); the stand-in records the requests and answers like
 * EventBridge, including partial failures (an entry with an ErrorCode), which
 * the deliverer sends again.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DETAIL_TYPES } from '../../src/events/event';
import { stagePointerKey } from '../../src/registry/bucketLayout';
import { parseJsonDocument, StagePointerSchema } from '../../src/registry/versionMetadata';
import { startTestStack, type TestStack } from '../support/stack';
import { EventBridgeStandIn } from './eventBridgeStandIn';
import { waitFor } from './support';

const BUS = 'modelgraph-test-events';
let standIn: EventBridgeStandIn;
let stack: TestStack;

beforeAll(async () => {
  standIn = new EventBridgeStandIn();
  await standIn.start();
  // The SDK's default credential chain reads these (the stand-in checks only that a SigV4 signature is there).
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDSTANDIN');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'stand-in-secret');
  stack = await startTestStack({
    env: {
      EVENTS_BUS_NAME: BUS,
      EVENTBRIDGE_ENDPOINT: standIn.endpoint,
      EVENTS_CATCHUP_SECONDS: '1',
      EVENTS_MAX_ATTEMPTS: '3',
    },
  });
});

afterAll(async () => {
  await stack?.close();
  await standIn?.stop();
  vi.unstubAllEnvs();
});

async function records(model: string, stage: 'PRODUCTION' | 'STAGING' = 'PRODUCTION') {
  const key = stagePointerKey(model, stage);
  return parseJsonDocument(StagePointerSchema, (await stack.server.runtime.store.get(key)).body, key).history;
}

/** Accepted entries (by event id) once every id in `ids` was accepted. */
function acceptedWithIds(ids: readonly string[]) {
  return waitFor(
    () => {
      const byId = new Map(standIn.accepted.map((e) => [JSON.parse(e.Detail!).id as string, e]));
      return ids.every((id) => byId.has(id)) ? ids.map((id) => byId.get(id)!) : undefined;
    },
    `PutEvents entries for ${ids.join(', ')}`,
  );
}

describe('EventBridge (against a loopback stand-in: AWS is not reachable here)', () => {
  it('PutEvents to the bus: Source "modelgraph", one DetailType per type, Detail = the event JSON', async () => {
    // Prepare
    const model = 'stocks/universal';
    const before = (await records(model)).length;
    // Act
    for (const q of [
      `mutation { promote(model: "${model}", version: "v1.0.0", reason: "eb") { generation } }`,
      `mutation { rollback(model: "${model}", reason: "eb back") { generation } }`,
    ]) {
      const res = await stack.gqlAsWriter(q);
      expect(res.errors).toBeUndefined();
    }
    // Assess
    const moved = (await records(model)).slice(before);
    const entries = await acceptedWithIds(moved.map((r) => r.id));
    expect(entries.map((e) => [e.EventBusName, e.Source, e.DetailType])).toEqual([
      [BUS, 'modelgraph', DETAIL_TYPES.PROMOTED],
      [BUS, 'modelgraph', DETAIL_TYPES.ROLLED_BACK],
    ]);
    expect(DETAIL_TYPES.PROMOTED).toBe('Modelgraph Version Promoted');
    for (const [i, e] of entries.entries()) {
      const detail = JSON.parse(e.Detail!);
      expect(detail).toMatchObject({
        id: moved[i].id,
        model,
        target: 'production',
        from: moved[i].from,
        to: moved[i].to,
        generation: moved[i].generation,
        by: 'admin',
        at: moved[i].at,
      });
      expect(new Date(Number(e.Time) * 1000).toISOString()).toBe(moved[i].at); // the record's time, not the send's
    }
    for (const r of standIn.requests) {
      expect(r.target).toBe('AWSEvents.PutEvents');
      expect(r.contentType).toBe('application/x-amz-json-1.1');
      expect(r.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDSTANDIN\/\d{8}\/us-east-1\/events\/aws4_request/,
      );
      expect(r.entries.length).toBeLessThanOrEqual(10);
    }
  });

  it('an entry EventBridge refuses (partial failure) is sent again; the move never waits for it', async () => {
    // Prepare: the next 3 entries are refused with an ErrorCode
    standIn.failEntries = 3;
    const model = 'etfs/QQQ';
    // Act
    const res = await stack.gql(
      `mutation { rollback(model: "${model}", to: "v1.0.0", reason: "partial") { generation } }`,
      {},
      { token: stack.server.writeToken, settle: false }, // answered: nothing waits for the delivery
    );
    // Assess: the move is there; the event is accepted eventually (bounded retries, then the catch-up)
    expect(res.errors).toBeUndefined();
    const record = (await records(model)).at(-1)!;
    expect(record.generation).toBe(res.data!.rollback.generation);
    const [entry] = await acceptedWithIds([record.id]);
    expect(JSON.parse(entry.Detail!)).toMatchObject({ type: 'ROLLED_BACK', model, reason: 'partial' });
    const attempts = standIn.entries().filter((e) => JSON.parse(e.Detail!).id === record.id);
    expect(attempts.length).toBeGreaterThan(1); // refused first, then sent again
    expect(standIn.failEntries).toBe(0);
  });
});
