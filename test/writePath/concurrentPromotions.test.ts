import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushVersion } from '../../src/release/pushVersion';
import { Deployments, type DeploymentResult } from '../../src/registry/deployments';
import { VersionMetadataSchema, parseJsonDocument } from '../../src/registry/versionMetadata';
import { startTestStack, type TestStack } from '../support/stack';
import { FEATURES, LABELS, separateProcesses, smallModel, storedPointer, winsAndConflicts } from './support';

const VERSIONS = Array.from({ length: 20 }, (_, i) => `v${String(i + 1).padStart(2, '0')}`);

describe('20 concurrent promotions of one model', () => {
  let stack: TestStack;
  const processes = separateProcesses(() => stack);
  /** A Deployments over its own client, store and registry: what a separate process would have. */
  const separateProcess = (): Deployments => processes.open().deployments;
  const pointer = (model: string) => storedPointer(stack, model);

  async function archived(model: string, version: string) {
    const key = `${model}/archive/${version}/metadata.json`;
    return parseJsonDocument(VersionMetadataSchema, (await stack.server.runtime.store.get(key)).body, key);
  }

  beforeAll(async () => {
    stack = await startTestStack({ seed: false });
    for (const model of ['etfs/RACE', 'etfs/RACEB', 'etfs/RACEQ']) {
      for (const [i, version] of VERSIONS.entries()) {
        await pushVersion(stack.server.runtime, {
          model,
          version,
          files: {
            'model.onnx': Buffer.from(smallModel({ seed: 1000 + i, trees: 2, depth: 2 })),
            'feature_names.json': Buffer.from(JSON.stringify(FEATURES)),
          },
          description: { strategies: LABELS },
        });
      }
    }
  });
  afterAll(async () => {
    processes.close();
    await stack?.close();
  });

  /** Every call succeeded or lost with CONFLICT; history holds exactly the winners, the pointer the last winner. */
  async function assessRace(
    model: string,
    settled: PromiseSettledResult<DeploymentResult>[],
    historyBefore: number,
    generationBefore: number,
  ) {
    const { wins, losses } = winsAndConflicts(settled);

    const final = await pointer(model);
    const last = wins.reduce((a, b) => (b.record.generation > a.record.generation ? b : a));
    expect(final.version).toBe(last.record.to);
    expect(final.generation).toBe(generationBefore + wins.length);
    // The pointer names one version, with exactly that version's archived checksums.
    expect(final.artifacts).toEqual((await archived(model, final.version)).artifacts);
    expect(final.source).toBe(`${model}/archive/${final.version}/`);
    // One history entry per successful call, none for the failed ones.
    const added = final.history.slice(historyBefore);
    expect(added.map((r) => r.id).sort()).toEqual(wins.map((w) => w.record.id).sort());
    expect(new Set(final.history.map((r) => r.id)).size).toBe(final.history.length);
    // Each winner's generation is distinct and consecutive: no two swaps from one base.
    expect(added.map((r) => r.generation)).toEqual(added.map((_, i) => generationBefore + i + 1));
    return { wins, losses };
  }

  it('separate processes replacing an existing pointer (If-Match): one winner per base, nothing lost or doubled', async () => {
    // Prepare
    await separateProcess().promote({ model: 'etfs/RACE', version: VERSIONS[0], stage: 'PRODUCTION', by: 'setup' });
    const before = await pointer('etfs/RACE');
    const racers = VERSIONS.map(() => separateProcess());

    // Act
    const settled = await Promise.allSettled(
      VERSIONS.map((version, i) =>
        racers[i].promote({ model: 'etfs/RACE', version, stage: 'PRODUCTION', by: `racer-${i}` }),
      ),
    );

    // Assess
    const { losses } = await assessRace('etfs/RACE', settled, before.history.length, before.generation);
    expect(losses.length).toBeGreaterThan(0); // it was a race
  });

  it('separate processes creating the pointer (If-None-Match: *): exactly one creates it', async () => {
    // Act
    const racers = VERSIONS.map(() => separateProcess());
    const settled = await Promise.allSettled(
      VERSIONS.map((version, i) =>
        racers[i].promote({ model: 'etfs/RACEB', version, stage: 'PRODUCTION', by: `racer-${i}` }),
      ),
    );

    // Assess
    const { wins } = await assessRace('etfs/RACEB', settled, 0, 0);
    expect(wins.filter((w) => w.record.from === null)).toHaveLength(1);
  });

  it('20 concurrent promote mutations over HTTP: each answers a Deployment or CONFLICT', async () => {
    // Prepare
    await stack.gqlAsWriter(`mutation { promote(model: "etfs/RACEQ", version: "${VERSIONS[0]}") { id } }`);
    const before = await pointer('etfs/RACEQ');

    // Act
    const answers = await Promise.all(
      VERSIONS.map((version) =>
        stack.gqlAsWriter<{ promote: { id: string; toVersion: string; generation: number } }>(
          `mutation($v: String!) { promote(model: "etfs/RACEQ", version: $v, reason: "race") { id toVersion generation } }`,
          { v: version },
        ),
      ),
    );

    // Assess
    const wins = answers.filter((a) => a.data?.promote);
    const losses = answers.filter((a) => !a.data?.promote);
    for (const l of losses) expect(l.errors?.map((e) => e.extensions?.code)).toEqual(['CONFLICT']);
    expect(wins.length).toBeGreaterThanOrEqual(1);
    const final = await pointer('etfs/RACEQ');
    expect(
      final.history
        .slice(before.history.length)
        .map((r) => r.id)
        .sort(),
    ).toEqual(wins.map((w) => w.data!.promote.id).sort());
    expect(final.artifacts).toEqual((await archived('etfs/RACEQ', final.version)).artifacts);
    const served = await stack.gql(`{ model(id: "etfs/RACEQ") { production { version sha256 } } }`);
    expect(served.data!.model.production.version).toBe(final.version);
  });
});
