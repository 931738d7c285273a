import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { demoModel } from '../../src/demo/treeEnsemble';
import { publishVersion } from '../../src/registry/versionPublisher';
import type { EmbeddedS3, S3RequestInfo } from '../../src/local/s3/embeddedS3';
import type { Runtime } from '../../src/runtime';
import { featuresFor, startTestStack, type TestStack, READ_PATHS } from '../support/stack';
import { PREDICT, codesOf, expectTypedFailure, sleep } from './support';

/**
 * S3 misbehaves; the API answers with bounded retries and typed errors, never
 * with a hang, an internal error or a prediction from bytes it could not verify.
 * Faults are injected into the embedded S3 server (real HTTP), not the SDK.
 */
const MAX_ATTEMPTS = 3;
const REQUEST_TIMEOUT_MS = 300;

const QQQ_MODEL = 'etfs/QQQ/archive/v1.0.0/model.onnx';
const getOf = (key: string) => (r: S3RequestInfo) => r.method === 'GET' && r.key === key;

describe.each(READ_PATHS)('S3 faults on the read path (%s reads)', (readPath) => {
  let stack: TestStack;
  let s3: EmbeddedS3;
  let runtime: Runtime;
  const features = featuresFor(DEMO_FEATURE_NAMES, 11);
  let reference: { strategy: string; confidence: number; version: string };

  const predictQqq = () => stack.gql(PREDICT, { ticker: 'QQQ', features });
  const modelGets = () => s3.requests().filter((r) => r.method === 'GET' && r.key === QQQ_MODEL);

  beforeAll(async () => {
    stack = await startTestStack({
      env: {
        S3_READ_PATH: readPath,
        S3_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        S3_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        S3_CONNECT_TIMEOUT_MS: '300',
      },
    });
    expect(stack.server.runtime.store.readPath).toBe(readPath);
    s3 = stack.server.s3!;
    runtime = stack.server.runtime;
    const res = await predictQqq();
    expect(res.errors).toBeUndefined();
    reference = res.data!.predict;
  });
  afterAll(() => stack?.close());

  beforeEach(() => {
    // Each test starts with QQQ's pointer cached (the registry keeps it for the TTL) but no loaded model.
    s3.clearFaults();
    runtime.models.clear();
    s3.resetRequests();
  });

  it('retries 503 S3_MAX_ATTEMPTS times, then answers STORAGE_UNAVAILABLE; the failed load is not cached', async () => {
    // Prepare
    s3.injectFault({ match: getOf(QQQ_MODEL), kind: 'status', status: 503 });
    const failuresBefore = runtime.models.counters.loadFailures;
    // Act
    const failed = await predictQqq();
    // Assess: typed, no data, and exactly MAX_ATTEMPTS requests reached S3
    expectTypedFailure(failed, ['STORAGE_UNAVAILABLE']);
    expect(failed.data).toBeNull();
    expect(modelGets().map((r) => r.status)).toEqual(Array(MAX_ATTEMPTS).fill(503));
    expect(runtime.models.counters.loadFailures - failuresBefore).toBe(1);
    expect(runtime.models.loadedKeys).toEqual([]);

    // Act: S3 recovers; the next request loads again instead of replaying the failure
    s3.clearFaults();
    const recovered = await predictQqq();
    // Assess
    expect(recovered.errors).toBeUndefined();
    expect(recovered.data!.predict).toEqual(reference);
    expect(modelGets().map((r) => r.status)).toEqual([...Array(MAX_ATTEMPTS).fill(503), 200]);
  });

  it('absorbs transient 500s with the SDK retry strategy (backoff), answering correctly', async () => {
    s3.injectFault({ match: getOf(QQQ_MODEL), kind: 'status', status: 500, times: MAX_ATTEMPTS - 1 });
    const res = await predictQqq();
    expect(res.errors).toBeUndefined();
    expect(res.data!.predict).toEqual(reference);
    const gets = modelGets();
    expect(gets.map((r) => r.status)).toEqual([...Array(MAX_ATTEMPTS - 1).fill(500), 200]);
  });

  it('retries reset connections, then answers STORAGE_UNAVAILABLE; one reset is absorbed', async () => {
    s3.injectFault({ match: getOf(QQQ_MODEL), kind: 'reset' });
    const failed = await predictQqq();
    expectTypedFailure(failed, ['STORAGE_UNAVAILABLE']);
    expect(modelGets().map((r) => r.fault)).toEqual(Array(MAX_ATTEMPTS).fill('reset'));

    s3.clearFaults();
    s3.resetRequests();
    s3.injectFault({ match: getOf(QQQ_MODEL), kind: 'reset', times: 1 });
    const res = await predictQqq();
    expect(res.errors).toBeUndefined();
    expect(res.data!.predict).toEqual(reference);
    expect(modelGets().map((r) => r.status)).toEqual([0, 200]);
  });

  it('a stalled S3 fails 10 concurrent predictions within a bounded time (one shared load), then recovers', async () => {
    // Prepare: S3 accepts the connection and never answers
    s3.injectFault({ match: getOf(QQQ_MODEL), kind: 'stall' });
    // Act
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        stack.gql(PREDICT, { ticker: 'QQQ', features: featuresFor(DEMO_FEATURE_NAMES, i) }),
      ),
    );
    const elapsed = performance.now() - started;
    // Assess: every caller gets the error (none hangs), bounded by attempts × timeout (+ backoff)
    for (const a of answers) expectTypedFailure(a, ['STORAGE_UNAVAILABLE']);
    expect(elapsed).toBeLessThan(MAX_ATTEMPTS * REQUEST_TIMEOUT_MS + 3_000);
    // one load for all ten callers, each of its attempts stalled
    expect(modelGets().map((r) => r.fault)).toEqual(Array(MAX_ATTEMPTS).fill('stall'));

    // Act: recovery
    s3.clearFaults();
    const res = await predictQqq();
    expect(res.errors).toBeUndefined();
    expect(res.data!.predict).toEqual(reference);
  });

  it('a truncated body retried into a stalled S3 still ends in STORAGE_UNAVAILABLE within the bound', async () => {
    // Prepare: the first answer is cut short (headers, half the body, close); every later one stalls
    s3.injectFault({ match: getOf(QQQ_MODEL), kind: 'truncate', times: 1 });
    s3.injectFault({ match: getOf(QQQ_MODEL), kind: 'stall' });
    // Act
    const started = performance.now();
    const res = await predictQqq();
    // Assess: the body failure is retried once more, and that request's own attempts time out
    expect(performance.now() - started).toBeLessThan(2 * MAX_ATTEMPTS * REQUEST_TIMEOUT_MS + 3_000);
    expectTypedFailure(res, ['STORAGE_UNAVAILABLE']);
    expect(res.data).toBeNull();
    expect(modelGets().map((r) => r.fault)).toEqual(['truncate', ...Array(MAX_ATTEMPTS).fill('stall')]);
  });

  it('a truncated body never becomes a loaded model; a single truncation is retried', async () => {
    // Prepare
    const loadsBefore = runtime.models.counters.loads;
    s3.injectFault({ match: getOf(QQQ_MODEL), kind: 'truncate' });
    // Act
    const failed = await predictQqq();
    // Assess
    expectTypedFailure(failed, ['STORAGE_UNAVAILABLE', 'INTEGRITY_ERROR']);
    expect(failed.data).toBeNull();
    expect(runtime.models.counters.loads).toBe(loadsBefore);
    expect(modelGets().length).toBe(MAX_ATTEMPTS);
    expect(modelGets().every((r) => r.fault === 'truncate')).toBe(true);

    // Act: one truncated answer, then a good one
    s3.clearFaults();
    s3.resetRequests();
    s3.injectFault({ match: getOf(QQQ_MODEL), kind: 'truncate', times: 1 });
    const res = await predictQqq();
    expect(res.errors).toBeUndefined();
    expect(res.data!.predict).toEqual(reference);
    expect(modelGets().map((r) => r.fault ?? 'ok')).toEqual(['truncate', 'ok']);
  });

  it('a corrupted body is an INTEGRITY_ERROR, never a prediction; the next request loads the good bytes', async () => {
    const integrityBefore = runtime.artifacts.counters.integrityFailures;
    s3.injectFault({ match: getOf(QQQ_MODEL), kind: 'corrupt', times: 1 });
    const failed = await predictQqq();
    expectTypedFailure(failed, ['INTEGRITY_ERROR']);
    expect(failed.data).toBeNull();
    expect(runtime.artifacts.counters.integrityFailures - integrityBefore).toBe(1);
    expect(runtime.models.loadedKeys).toEqual([]);

    const res = await predictQqq();
    expect(res.errors).toBeUndefined();
    expect(res.data!.predict).toEqual(reference);
  });

  it('corrupted or truncated JSON documents end in typed errors, never an internal error or a prediction', async () => {
    const documents = [
      'metadata/asset_registry.json',
      'etfs/QQQ/production/metadata.json',
      'etfs/QQQ/archive/v1.0.0/feature_names.json',
    ];
    for (const key of documents) {
      for (const kind of ['corrupt', 'truncate'] as const) {
        // Prepare: nothing cached, so the document must come from S3
        runtime.registry.invalidate();
        runtime.models.clear();
        s3.clearFaults();
        s3.injectFault({ match: getOf(key), kind });
        // Act
        const res = await predictQqq();
        // Assess
        expect({ key, kind, codes: codesOf(res) }).toEqual({
          key,
          kind,
          codes: [expect.stringMatching(/^(STORAGE_UNAVAILABLE|INTEGRITY_ERROR|INVALID_MODEL)$/)],
        });
        expect(res.data).toBeNull();
      }
    }
    // and the metadata of a version (immutable, so a version nobody has read yet), read by the model query
    s3.clearFaults();
    const { store } = runtime;
    const files = {
      'model.onnx': Buffer.from(demoModel(5, { trees: 2, depth: 2 })),
      'feature_names.json': Buffer.from(JSON.stringify(DEMO_FEATURE_NAMES)),
    };
    await publishVersion(store, 'etfs/QQQ', 'v9.0.0-unread', files, { strategies: [...OPTION_STRATEGIES] });
    s3.injectFault({ match: getOf('etfs/QQQ/archive/v9.0.0-unread/metadata.json'), kind: 'corrupt', times: 1 });
    const query = `{ model(id: "etfs/QQQ") { version(version: "v9.0.0-unread") { version } } }`;
    expect(codesOf(await stack.gql(query))).toEqual(['INVALID_MODEL']);
    // not cached: the next read gets the good document
    expect((await stack.gql(query)).data).toEqual({ model: { version: { version: 'v9.0.0-unread' } } });

    s3.clearFaults();
    runtime.registry.invalidate();
    const res = await predictQqq();
    expect(res.data!.predict).toEqual(reference);
  });

  it('model queries fail typed too: a failing listing is STORAGE_UNAVAILABLE, damaged feature names an INTEGRITY_ERROR', async () => {
    // Prepare: listings fail
    const list = (r: S3RequestInfo) => r.method === 'GET' && r.key === '' && r.query.includes('list-type=2');
    s3.injectFault({ match: list, kind: 'status', status: 503 });
    // Act
    const listed = await stack.gql(`{ model(id: "etfs/QQQ") { id versions { version } } }`);
    // Assess
    expectTypedFailure(listed, ['STORAGE_UNAVAILABLE']);
    expect(s3.requests().filter((r) => r.key === '' && r.status === 503)).toHaveLength(MAX_ATTEMPTS);

    // Prepare: the feature names of a version nobody has read yet arrive damaged
    s3.clearFaults();
    const names = 'etfs/XLF/archive/v1.0.0/feature_names.json';
    s3.injectFault({ match: getOf(names), kind: 'corrupt', times: 1 });
    const query = `{ model(id: "etfs/XLF") { production { version featureNames } } }`;
    // Act + Assess: refused, then served once the bytes are right again
    expect(codesOf(await stack.gql(query))).toEqual(['INTEGRITY_ERROR']);
    const res = await stack.gql(query);
    expect(res.errors).toBeUndefined();
    expect(res.data!.model.production.featureNames).toEqual(DEMO_FEATURE_NAMES);
  });

  it('a failing pointer read is STORAGE_UNAVAILABLE when no earlier copy exists', async () => {
    runtime.registry.invalidate();
    s3.injectFault({ match: getOf('etfs/QQQ/production/metadata.json'), kind: 'status', status: 503 });
    const res = await predictQqq();
    expectTypedFailure(res, ['STORAGE_UNAVAILABLE']);
    expect(s3.count({ method: 'GET', key: 'etfs/QQQ/production/metadata.json' })).toBe(MAX_ATTEMPTS);
    s3.clearFaults();
    await sleep(1);
    expect((await predictQqq()).data!.predict).toEqual(reference);
  });
});
