import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { buildTreeEnsembleClassifier } from '../../src/demo/treeEnsemble';
import { stagePointerKey } from '../../src/registry/bucketLayout';
import { Deployments, HISTORY_ARCHIVE_CHUNK, HISTORY_INLINE_MAX } from '../../src/registry/deployments';
import { Registry } from '../../src/registry/registry';
import { publishVersion } from '../../src/registry/versionPublisher';
import { startTestStack, type TestStack } from '../support/stack';

const MODEL = 'universal/history_archive';

describe('a stage pointer stays small: old history moves to write-once archives, nothing is lost', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ seed: false });
    const { store } = stack.server.runtime;
    const files = (seed: number) => ({
      'model.onnx': Buffer.from(
        buildTreeEnsembleClassifier({
          featureNames: DEMO_FEATURE_NAMES,
          labels: OPTION_STRATEGIES,
          trees: 2,
          depth: 2,
          seed,
        }),
      ),
      'feature_names.json': Buffer.from(JSON.stringify(DEMO_FEATURE_NAMES)),
    });
    await publishVersion(store, MODEL, 'a', files(1), { strategies: [...OPTION_STRATEGIES] });
    await publishVersion(store, MODEL, 'b', files(2), { strategies: [...OPTION_STRATEGIES] });
  });
  afterAll(() => stack?.close());

  it('keeps at most HISTORY_INLINE_MAX entries inline and pages through all of them', async () => {
    // Prepare / Act: 250 sequential deployments alternating between two versions.
    const { deployments, store } = stack.server.runtime;
    const total = HISTORY_INLINE_MAX + HISTORY_ARCHIVE_CHUNK / 2;
    for (let i = 0; i < total; i++) {
      await deployments.promote({
        model: MODEL,
        version: i % 2 ? 'b' : 'a',
        stage: 'PRODUCTION',
        by: 'test',
        reason: `r${i}`,
      });
    }
    // Assess: the pointer holds the newest 150, one archive the oldest 100.
    const pointer = JSON.parse((await store.get(stagePointerKey(MODEL, 'PRODUCTION'))).body.toString('utf8'));
    expect(pointer.generation).toBe(total);
    expect(pointer.history.length).toBeLessThanOrEqual(HISTORY_INLINE_MAX);
    expect(pointer.history_archives).toEqual([`${MODEL}/production/history/00000001-00000100.json`]);
    const all = await deployments.history(MODEL);
    expect(all.map((d) => d.generation)).toEqual(Array.from({ length: total }, (_, i) => total - i));
    expect(new Set(all.map((d) => d.id)).size).toBe(total);
    expect(all.at(-1)).toMatchObject({ generation: 1, from: null, to: 'a', reason: 'r0' });
    // Only the newest are needed: the archive is not read.
    expect((await deployments.history(MODEL, 10)).slice(0, 10).map((d) => d.generation)).toEqual(
      all.slice(0, 10).map((d) => d.generation),
    );
  });

  it('pages through archived history over GraphQL with first/after', async () => {
    const seen: number[] = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await stack.gql(
        `query($m: ID!, $after: ID) { deployments(model: $m, first: 60, after: $after) { id generation } }`,
        { m: MODEL, after },
      );
      const page = res.data.deployments as Array<{ id: string; generation: number }>;
      if (page.length === 0) break;
      seen.push(...page.map((d) => d.generation));
      after = page.at(-1)!.id;
    }
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => seen.length - i));
    expect(seen.length).toBe(HISTORY_INLINE_MAX + HISTORY_ARCHIVE_CHUNK / 2);
  });

  it('two promoters racing across an archive boundary: one wins, the archive is written once, history stays exact', async () => {
    // Prepare: bring the inline history to exactly HISTORY_INLINE_MAX.
    const { deployments, store } = stack.server.runtime;
    let pointer = JSON.parse((await store.get(stagePointerKey(MODEL, 'PRODUCTION'))).body.toString('utf8'));
    while (pointer.history.length < HISTORY_INLINE_MAX) {
      await deployments.promote({
        model: MODEL,
        version: pointer.version === 'a' ? 'b' : 'a',
        stage: 'PRODUCTION',
        by: 'test',
      });
      pointer = JSON.parse((await store.get(stagePointerKey(MODEL, 'PRODUCTION'))).body.toString('utf8'));
    }
    const before = pointer.generation as number;
    // Act: two processes' worth of registries race from the same base.
    const racers = [0, 1].map(() => new Deployments(new Registry(store, { pointerTtlMs: 0, maxStaleMs: 0 })));
    const results = await Promise.allSettled(
      racers.map((d, i) => d.promote({ model: MODEL, version: i ? 'a' : 'b', stage: 'PRODUCTION', by: `racer${i}` })),
    );
    // Assess
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason.code).toBe('CONFLICT');
    const after = JSON.parse((await store.get(stagePointerKey(MODEL, 'PRODUCTION'))).body.toString('utf8'));
    expect(after.generation).toBe(before + 1);
    expect(after.history_archives).toHaveLength(2);
    const fresh = new Deployments(new Registry(store, { pointerTtlMs: 0, maxStaleMs: 0 }));
    const all = await fresh.history(MODEL);
    expect(all.map((d) => d.generation)).toEqual(Array.from({ length: before + 1 }, (_, i) => before + 1 - i));
  });
});
