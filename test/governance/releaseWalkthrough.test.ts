import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { cli } from '../writePath/support';

/**
 * The README's governed release (push → shadow → approve → promote), step by
 * step through the CLI against the local server on the embedded S3 server.
 */
describe("the README's governed release walk-through", () => {
  let stack: TestStack;
  let dir: string;
  const as =
    (token: string | null) =>
    (...args: string[]) =>
      cli(args, {
        env: { MODELGRAPH_DATA_DIR: stack.dataDir, ...(token ? { MODELGRAPH_TOKEN: token } : {}) },
        cwd: dir,
      });

  beforeAll(async () => {
    stack = await startTestStack({ env: { SHADOW_FLUSH_SECONDS: '0' } });
    dir = await mkdtemp(join(tmpdir(), 'modelgraph-walk-'));
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Production predictions for stocks: with shadow on, each also runs staging. */
  async function stockTraffic(rows: number): Promise<void> {
    const tickers = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL'];
    const requests = Array.from({ length: rows }, (_, i) => ({
      ticker: tickers[i % tickers.length],
      features: featuresFor(DEMO_FEATURE_NAMES, i),
    }));
    const res = await stack.gql(`query($r: [PredictionRequest!]!) { predictMany(requests: $r) { version } }`, {
      r: requests,
    });
    expect(res.errors).toBeUndefined();
  }

  it('push → shadow → approve → promote, with a candidate that disagrees refused on the way', async () => {
    const admin = as(null);
    // 0. Principals.
    const alice = (await admin('token', 'add', 'alice', '--scope', 'models:write', '--json')).json.token as string;
    const bob = (await admin('token', 'add', 'bob', '--scope', 'models:approve', '--json')).json.token as string;
    const asAlice = as(alice);
    const asBob = as(bob);
    // 1. Policy.
    const policy = await asBob(
      'policy',
      'stocks/universal',
      '--require-approval',
      '--min-shadow-rows',
      '50',
      '--min-shadow-agreement',
      '0.95',
      '--reason',
      'desk rule',
    );
    expect(policy.code, policy.stderr).toBe(0);
    // 2. A candidate generated with production's seed (agrees), and one with another seed (disagrees).
    expect((await asAlice('demo-folder', './agrees', '--seed', '201')).code).toBe(0);
    expect((await asAlice('demo-folder', './disagrees', '--seed', '9')).code).toBe(0);
    for (const [folder, version] of [
      ['./disagrees', 'v1.2'],
      ['./agrees', 'v1.3'],
    ]) {
      const pushed = await asAlice(
        'push',
        folder,
        '--model',
        'stocks/universal',
        '--version',
        version,
        '--training-window',
        '2024-01-01..2026-10-31',
      );
      expect(pushed.code, pushed.stderr).toBe(0);
    }
    // 3. Shadow the disagreeing one first.
    expect(
      (await asAlice('promote', 'stocks/universal', 'v1.2', '--stage', 'staging', '--reason', 'candidate')).code,
    ).toBe(0);
    expect((await asAlice('traffic', 'stocks/universal', '--shadow', 'on', '--reason', 'shadow')).code).toBe(0);
    await stockTraffic(60);
    // 4./5. Approved but disagreeing: refused, listing the rule.
    expect((await asAlice('approve', 'stocks/universal', 'v1.2')).code).toBe(1); // lacks models:approve
    expect((await asBob('approve', 'stocks/universal', 'v1.2', '--note', 'backtest ok')).code).toBe(0);
    const refused = await asAlice('promote', 'stocks/universal', 'v1.2', '--reason', 'looks good');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/error POLICY_VIOLATION/);
    expect(refused.stderr).toMatch(/minShadowAgreement: required >= 95\.00%, actual \d+\.\d\d% of 60 rows/);
    // The agreeing candidate: shadowed, refused while PENDING, promoted once approved.
    expect(
      (await asAlice('promote', 'stocks/universal', 'v1.3', '--stage', 'staging', '--reason', 'candidate')).code,
    ).toBe(0);
    await stockTraffic(60);
    const pending = await asAlice('promote', 'stocks/universal', 'v1.3');
    expect(pending.stderr).toMatch(/requireApproval: required APPROVED, actual PENDING/);
    expect(pending.stderr).not.toMatch(/minShadow/);
    expect((await asBob('approve', 'stocks/universal', 'v1.3', '--note', 'backtest and shadow ok')).code).toBe(0);
    // 6.
    const promoted = await asAlice(
      'promote',
      'stocks/universal',
      'v1.3',
      '--reason',
      'approved, shadow agrees',
      '--json',
    );
    expect(promoted.code, promoted.stderr).toBe(0);
    const served = await stack.gql(
      `{ model(id: "stocks/universal") { production { version approval { status by publishedBy } lineage { trainingFrom trainingTo } } history(first: 1) { by reason approval } } }`,
    );
    expect(served.data!.model).toEqual({
      production: {
        version: 'v1.3',
        approval: { status: 'APPROVED', by: 'bob', publishedBy: 'alice' },
        lineage: { trainingFrom: '2024-01-01', trainingTo: '2026-10-31' },
      },
      history: [{ by: 'alice', reason: 'approved, shadow agrees', approval: 'APPROVED' }],
    });
  });
});
