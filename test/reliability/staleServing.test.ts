import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import type { EmbeddedS3 } from '../../src/local/s3/embeddedS3';
import { featuresFor, startTestStack, type TestStack, READ_PATHS } from '../support/stack';
import { PREDICT, expectTypedFailure, sleep } from './support';

/**
 * S3 goes away while models are loaded: the instance keeps answering from the
 * versions it last verified, for at most POINTER_MAX_STALE_SECONDS, and every
 * answer names the version that computed it. Pointers are revalidated every
 * POINTER_TTL_SECONDS, so revalidation keeps failing during the outage.
 */
const TTL_SECONDS = 0.2;
const MAX_STALE_SECONDS = 2.5;
const MAX_ATTEMPTS = 2;
const REQUEST_TIMEOUT_MS = 250;

describe.each(READ_PATHS)('serving through an S3 outage (%s reads)', (readPath) => {
  let stack: TestStack;
  let s3: EmbeddedS3;
  const predict = (ticker: string, i = 0) =>
    stack.gql(PREDICT, { ticker, features: featuresFor(DEMO_FEATURE_NAMES, i) });
  const pointerReads = () =>
    s3
      .requests()
      .filter(
        (r) =>
          r.method === 'GET' &&
          (r.key === 'etfs/SPY/production/metadata.json' || r.key === 'stocks/universal/production/metadata.json'),
      );

  beforeAll(async () => {
    stack = await startTestStack({
      env: {
        S3_READ_PATH: readPath,
        POINTER_TTL_SECONDS: String(TTL_SECONDS),
        POINTER_MAX_STALE_SECONDS: String(MAX_STALE_SECONDS),
        S3_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        S3_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        S3_CONNECT_TIMEOUT_MS: '250',
      },
    });
    expect(stack.server.runtime.store.readPath).toBe(readPath);
    s3 = stack.server.s3!;
  });
  afterAll(() => stack?.close());

  /** Loads SPY's and the stock model and revalidates their pointers now; returns the window in which that happened. */
  async function warmAndVerify(): Promise<{ from: number; to: number }> {
    s3.clearFaults();
    await sleep(TTL_SECONDS * 1000 + 50);
    const from = Date.now();
    for (const t of ['SPY', 'AAPL']) expect((await predict(t)).errors).toBeUndefined();
    const to = Date.now();
    s3.resetRequests();
    return { from, to };
  }

  beforeEach(() => s3.clearFaults());

  it('keeps predicting from the loaded versions while S3 answers 503, up to the maximum staleness, then STORAGE_UNAVAILABLE', async () => {
    // Prepare
    const verified = await warmAndVerify();
    s3.injectFault({ match: () => true, kind: 'status', status: 503 });

    // Act: predictions throughout most of the allowed staleness
    const served: Array<{ version: string; model: string }> = [];
    let i = 0;
    while (Date.now() - verified.from < (MAX_STALE_SECONDS - 0.8) * 1000) {
      for (const ticker of ['SPY', 'AAPL']) {
        const res = await predict(ticker, i++);
        expect(res.errors).toBeUndefined();
        served.push({ version: res.data!.predict.version, model: res.data!.predict.model.id });
      }
      await sleep(50);
    }

    // Assess: every answer came from the last verified production versions and says so…
    expect(served.length).toBeGreaterThan(4);
    expect(new Set(served.map((s) => `${s.model}@${s.version}`))).toEqual(
      new Set(['etfs/SPY@v1.1.0', 'stocks/universal@v1.1.0']),
    );
    // …while the pointers were revalidated (and failed, with retries) again and again during the outage
    const failedReads = pointerReads().filter((r) => r.status === 503);
    expect(failedReads.length).toBeGreaterThanOrEqual(2 * MAX_ATTEMPTS);

    // Act: past the maximum staleness
    await sleep(Math.max(0, verified.to + MAX_STALE_SECONDS * 1000 + 100 - Date.now()));
    const tooStale = await predict('SPY');
    // Assess
    expectTypedFailure(tooStale, ['STORAGE_UNAVAILABLE']);
    expect(tooStale.data).toBeNull();

    // Act: S3 is back
    s3.clearFaults();
    const back = await predict('SPY');
    expect(back.errors).toBeUndefined();
    expect(back.data!.predict.version).toBe('v1.1.0');
  });

  it('answers from the loaded version within a bounded time while S3 stalls', async () => {
    // Prepare
    await warmAndVerify();
    s3.injectFault({ match: () => true, kind: 'stall' });
    await sleep(TTL_SECONDS * 1000 + 50);
    // Act: the pointer is due for revalidation, which hangs until the request timeout
    const started = performance.now();
    const res = await predict('SPY', 3);
    const elapsed = performance.now() - started;
    // Assess
    expect(res.errors).toBeUndefined();
    expect(res.data!.predict.version).toBe('v1.1.0');
    expect(elapsed).toBeLessThan(MAX_ATTEMPTS * REQUEST_TIMEOUT_MS + 1_500);
    expect(pointerReads().filter((r) => r.fault === 'stall').length).toBeGreaterThanOrEqual(MAX_ATTEMPTS);
  });

  it('a model never loaded before the outage is STORAGE_UNAVAILABLE, not a hang; a promotion fails typed and changes nothing', async () => {
    // Prepare
    const historyQuery = `{ deployments(model: "etfs/SPY", first: 500) { id } }`;
    const historyBefore = (await stack.gql(historyQuery)).data!.deployments;
    await warmAndVerify();
    s3.injectFault({ match: () => true, kind: 'reset' });
    // Act
    const cold = await predict('QQQ');
    const promote = await stack.gqlAsWriter(
      `mutation { promote(model: "etfs/SPY", version: "v1.0.0", reason: "during outage") { toVersion } }`,
    );
    // Assess
    expectTypedFailure(cold, ['STORAGE_UNAVAILABLE']);
    expectTypedFailure(promote, ['STORAGE_UNAVAILABLE']);
    expect(s3.requests().every((r) => r.method === 'GET' || r.method === 'HEAD')).toBe(true);
    const warm = await predict('SPY');
    expect(warm.data!.predict.version).toBe('v1.1.0');

    // Act: after the outage, the pointer is unchanged and QQQ loads
    s3.clearFaults();
    expect((await predict('QQQ')).errors).toBeUndefined();
    expect((await stack.gql(historyQuery)).data!.deployments).toEqual(historyBefore);
    expect((await predict('SPY')).data!.predict.version).toBe('v1.1.0');
  });
});

describe.each(READ_PATHS)('serving through a stalled S3 with production-like timeouts (%s reads)', (readPath) => {
  // A stalled revalidation costs S3_MAX_ATTEMPTS × S3_REQUEST_TIMEOUT_MS (45 s with the defaults):
  // requests that have a verified copy within POINTER_MAX_STALE_SECONDS must not wait for it.
  const TIMEOUT_MS = 4_000;
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({
      env: {
        S3_READ_PATH: readPath,
        POINTER_TTL_SECONDS: '0.2',
        POINTER_MAX_STALE_SECONDS: '60',
        S3_MAX_ATTEMPTS: '3',
        S3_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
      },
    });
    expect(stack.server.runtime.store.readPath).toBe(readPath);
  });
  afterAll(() => stack?.close());

  it('answers from the last verified pointer without waiting out a stalled revalidation', async () => {
    // Prepare
    const s3 = stack.server.s3!;
    const predict = (i: number) => stack.gql(PREDICT, { ticker: 'SPY', features: featuresFor(DEMO_FEATURE_NAMES, i) });
    expect((await predict(0)).errors).toBeUndefined();
    await sleep(250);
    s3.resetRequests();
    s3.injectFault({ match: () => true, kind: 'stall' });
    // Act: several predictions over a second, each one due for revalidation
    const elapsed: number[] = [];
    for (let i = 1; i <= 4; i++) {
      const started = performance.now();
      const res = await predict(i);
      elapsed.push(performance.now() - started);
      expect(res.errors).toBeUndefined();
      expect(res.data!.predict.version).toBe('v1.1.0');
      await sleep(250);
    }
    // Assess: each answered well before one request timeout, while revalidation was attempted
    expect(Math.max(...elapsed)).toBeLessThan(TIMEOUT_MS / 2);
    expect(s3.requests().some((r) => r.fault === 'stall' && r.key === 'etfs/SPY/production/metadata.json')).toBe(true);

    // Act: S3 answers again; revalidation succeeds and is used
    s3.clearFaults();
    await sleep(300);
    s3.resetRequests();
    await sleep(250);
    const res = await predict(9);
    expect(res.data!.predict.version).toBe('v1.1.0');
    expect(s3.count({ method: 'GET', key: 'etfs/SPY/production/metadata.json' })).toBeGreaterThan(0);
  });
});
