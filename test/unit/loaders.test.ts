import { describe, expect, it } from 'vitest';
import { createLoaders } from '../../src/graphql/loaders';
import type { Runtime } from '../../src/runtime';

describe('per-request loaders', () => {
  it('are made on first use, once per request: every field of a request batches into the same loader', async () => {
    const asked: string[][] = [];
    const runtime = {
      config: { MAX_PREDICT_BATCH: 10 },
      registry: {
        stagePointer: async (model: string, stage: string) => {
          asked.push([model, stage]);
          return null;
        },
        listVersions: async (model: string) => [`${model}-v1`],
      },
    } as unknown as Runtime;
    const loaders = createLoaders(runtime);
    expect(loaders.stagePointer).toBe(loaders.stagePointer);
    expect(loaders.versions).toBe(loaders.versions);
    const [a, b] = await Promise.all([
      loaders.stagePointer.load('etfs/SPY|PRODUCTION'),
      loaders.stagePointer.load('etfs/QQQ|STAGING'),
    ]);
    expect([a, b]).toEqual([null, null]);
    expect(asked).toEqual([
      ['etfs/SPY', 'PRODUCTION'],
      ['etfs/QQQ', 'STAGING'],
    ]);
    expect(await loaders.versions.load('etfs/SPY')).toEqual(['etfs/SPY-v1']);
    // Another request gets its own loaders (no cache shared between requests).
    expect(createLoaders(runtime).stagePointer).not.toBe(loaders.stagePointer);
  });
});
