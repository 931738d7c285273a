import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import {
  DEMO_ENSEMBLE,
  DEMO_RISK_MODEL,
  DEMO_VOLATILITY_MODEL,
  demoAssetRegistry,
  demoDescription,
  demoVersionFiles,
} from '../../src/local/demoSeed';
import { ASSET_REGISTRY_KEY } from '../../src/registry/bucketLayout';
import { publishVersion } from '../../src/registry/versionPublisher';
import { featuresFor, startTestStack } from '../support/stack';

const PREDICT = `query($t: String!, $f: JSONObject!, $m: ID) { predict(ticker: $t, features: $f, model: $m) { version model { id } task } }`;
const LATER_PARTS = ['ensembles/', `${DEMO_VOLATILITY_MODEL}/`, `${DEMO_RISK_MODEL}/`, 'experimental/', 'shared/'];

describe('restarting on a bucket seeded by an earlier release', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('adds the demo parts it lacks and keeps every change made since; a second restart writes nothing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'modelgraph-upgrade-'));
    dirs.push(dataDir);
    // An "old" demo bucket: today's seed minus what later releases added, plus a change of the user's.
    let stack = await startTestStack({ dataDir });
    const { store, deployments } = stack.server.runtime;
    for (const prefix of LATER_PARTS) for (const key of await store.listKeys(prefix)) await store.delete(key);
    const registry = demoAssetRegistry();
    delete registry.etfs.DIA;
    await store.put(ASSET_REGISTRY_KEY, JSON.stringify(registry));
    await deployments.rollback({ model: 'etfs/SPY', stage: 'PRODUCTION', by: 'alice', reason: 'user change' });
    const spyBefore = await deployments.currentPointer('etfs/SPY', 'PRODUCTION');
    await stack.close();

    stack = await startTestStack({ dataDir });
    expect(stack.server.seeded).toBe(false);
    expect(stack.server.upgraded).toBe(true);
    const f = featuresFor(DEMO_FEATURE_NAMES, 1);
    const dia = await stack.gql(PREDICT, { t: 'DIA', f });
    expect(dia.data?.predict.model.id).toBe(DEMO_ENSEMBLE);
    const vol = await stack.gql(PREDICT, { t: 'SPY', f, m: DEMO_VOLATILITY_MODEL });
    expect(vol.data?.predict.task).toBe('REGRESSION');
    // The user's change is kept: SPY still serves what alice rolled back to, with the same pointer.
    const spyAfter = await stack.server.runtime.deployments.currentPointer('etfs/SPY', 'PRODUCTION');
    expect(spyAfter?.etag).toBe(spyBefore?.etag);
    expect((await stack.gql(PREDICT, { t: 'SPY', f })).data?.predict.version).toBe('v1.0.0');
    expect((await stack.server.runtime.store.listKeys('shared/')).length).toBe(2);
    await stack.close();

    // Nothing left to add: the next start writes nothing.
    stack = await startTestStack({ dataDir });
    expect(stack.server.upgraded).toBe(false);
    const writes = stack.server
      .s3!.requests()
      .filter((r) => r.method === 'PUT' || r.method === 'POST' || r.method === 'DELETE');
    expect(writes).toEqual([]);
    await stack.close();
  });

  it('leaves a bucket the demo seed did not make alone', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'modelgraph-upgrade-'));
    dirs.push(dataDir);
    let stack = await startTestStack({ dataDir, seed: false });
    const { store, deployments } = stack.server.runtime;
    await publishVersion(
      store,
      'etfs/SPY',
      'v1',
      demoVersionFiles(1),
      demoDescription({ accuracy: 0.6, created: '2026-01-01T00:00:00Z' }),
    );
    await deployments.promote({ model: 'etfs/SPY', version: 'v1', stage: 'PRODUCTION', by: 'ml-team' });
    await store.put(
      ASSET_REGISTRY_KEY,
      JSON.stringify({ etfs: { SPY: { status: 'active' } }, stocks: { supported_tickers: {} } }),
    );
    await stack.close();

    stack = await startTestStack({ dataDir });
    expect([stack.server.seeded, stack.server.upgraded]).toEqual([false, false]);
    for (const prefix of LATER_PARTS) expect(await stack.server.runtime.store.listKeys(prefix)).toEqual([]);
    expect((await stack.gql(`{ assets { ticker } }`)).data?.assets).toEqual([{ ticker: 'SPY' }]);
    await stack.close();
  });
});
