import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';

describe('a bundle evicted between lookup and run', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.close());

  it('is looked up again instead of failing the request', async () => {
    // Prepare: SPY loaded; the next lookup hands out the bundle and evicts it at once,
    // which is what a concurrent load under a tight memory bound can do.
    const { runtime } = stack.server;
    const query = 'query($f: JSONObject!) { predict(ticker: "SPY", features: $f) { version strategy } }';
    const warm = await stack.gql(query, { f: featuresFor(DEMO_FEATURE_NAMES, 1) });
    const loadsBefore = runtime.models.counters.loads;
    const originalGet = runtime.models.get.bind(runtime.models);
    let raced = 0;
    runtime.models.get = async (model, version, metadata) => {
      const bundle = await originalGet(model, version, metadata);
      if (raced++ === 0) runtime.models.clear(); // evicts and releases it (no run in flight)
      return bundle;
    };
    try {
      // Act
      const res = await stack.gql(query, { f: featuresFor(DEMO_FEATURE_NAMES, 1) });
      // Assess: the same answer from a reloaded session, no internal error.
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual(warm.data);
      expect(raced).toBe(2);
      expect(runtime.models.counters.loads).toBe(loadsBefore + 1);
    } finally {
      runtime.models.get = originalGet;
    }
  });
});
