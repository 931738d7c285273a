import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import type { Prediction } from '../../src/inference/predictor';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { createRuntime, type Runtime } from '../../src/runtime';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { eventually } from './support';

const POINTER = 'etfs/SPY/production/metadata.json';

describe('bounded staleness after a promotion made by another process', () => {
  let stack: TestStack;
  /** A second, warm "instance": its own S3 client, registry and model caches, pointer TTL 1 s. */
  let other: Runtime;
  const features = featuresFor(DEMO_FEATURE_NAMES, 3);

  async function otherServes(): Promise<string> {
    const [answer] = await other.predictor.predictBatch([{ ticker: 'SPY', features }]);
    if (answer instanceof Error) throw answer;
    return (answer as Prediction).version;
  }

  async function firstServes(): Promise<string> {
    const res = await stack.gql(`query($f: JSONObject!) { predict(ticker: "SPY", features: $f) { version } }`, {
      f: features,
    });
    expect(res.errors).toBeUndefined();
    return res.data!.predict.version;
  }

  beforeAll(async () => {
    // The promoting instance trusts its pointers for 30 s: only its own write can make it serve a new version at once.
    stack = await startTestStack({ env: { POINTER_TTL_SECONDS: '30' } });
    const config = loadConfig({
      MODEL_BUCKET: stack.server.runtime.bucket,
      S3_ENDPOINT: stack.server.s3!.endpoint,
      POINTER_TTL_SECONDS: '1',
    });
    other = createRuntime(config, { credentials: EMBEDDED_S3_CREDENTIALS });
  });
  afterAll(async () => {
    other?.models.clear();
    await stack?.close();
  });

  it('the other instance revalidates with If-None-Match (304 while unchanged) and serves the new version within about its TTL; the promoter at once', async () => {
    // Prepare: both instances warm on v1.1.0.
    const s3 = stack.server.s3!;
    expect(await firstServes()).toBe('v1.1.0');
    expect(await otherServes()).toBe('v1.1.0');
    s3.resetRequests();

    // Within the TTL: no request at all.
    expect(await otherServes()).toBe('v1.1.0');
    expect(s3.count({ key: POINTER })).toBe(0);

    // After the TTL, unchanged: a conditional GET answered 304 (no body).
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await otherServes()).toBe('v1.1.0');
    const revalidations = s3.requests().filter((r) => r.method === 'GET' && r.key === POINTER);
    expect(revalidations.length).toBeGreaterThanOrEqual(1);
    for (const r of revalidations) {
      expect(r.ifNoneMatch).toBeTruthy();
      expect(r.status).toBe(304);
    }

    // Act: the first instance promotes.
    const promoted = await stack.gqlAsWriter(
      `mutation { promote(model: "etfs/SPY", version: "v1.0.0", reason: "staleness test") { toVersion } }`,
    );
    expect(promoted.errors).toBeUndefined();
    const promotedAt = Date.now();

    // Assess: the promoter serves it at once (its cached pointer is 30 s fresh: only its own write explains this) …
    expect(await firstServes()).toBe('v1.0.0');
    // … the other instance within its TTL (generous deadline for a loaded machine).
    await eventually(
      async () => ((await otherServes()) === 'v1.0.0' ? true : undefined),
      15_000,
      'the other instance to serve v1.0.0',
    );
    const lag = Date.now() - promotedAt;
    const changed = s3.requests().filter((r) => r.method === 'GET' && r.key === POINTER && r.startedAt >= promotedAt);
    expect(changed.at(-1)).toMatchObject({ status: 200 });
    expect(changed.at(-1)!.ifNoneMatch).toBeTruthy();
    expect(lag).toBeLessThan(15_000);
  });
});
