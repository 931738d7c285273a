import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { cliFor, FEATURES, LABELS, writeVersionFolder } from './support';

/** The README's release workflow, through the CLI: push → staging → production → roll back. */
describe('release workflow with the modelgraph CLI', () => {
  let stack: TestStack;
  let mg: ReturnType<typeof cliFor>;
  /** The version that answers a prediction for SMH (the demo's v1.0.0 takes the 84 demo features, the pushed ones 5). */
  const serving = async (stage: 'PRODUCTION' | 'STAGING' = 'PRODUCTION') => {
    for (const names of [FEATURES, DEMO_FEATURE_NAMES]) {
      const res = await stack.gql(
        `query($f: JSONObject!, $s: Stage) { predict(ticker: "SMH", features: $f, stage: $s) { version } }`,
        {
          f: featuresFor(names, 2),
          s: stage,
        },
      );
      if (res.data?.predict) return res.data.predict.version;
      if (res.errors?.[0].extensions?.code !== 'BAD_USER_INPUT') return res.errors?.[0].extensions?.code;
    }
    return 'BAD_USER_INPUT';
  };

  beforeAll(async () => {
    // TTL 0: the server revalidates on every request, so changes made by the CLI show at once.
    stack = await startTestStack({ env: { POINTER_TTL_SECONDS: '0' } });
    // The CLI finds the API (and, for push, the bucket) through the stack's data folder, as beside `npm start`.
    mg = cliFor(stack);
    for (const [version, seed] of [
      ['v2.0', 1],
      ['v2.1', 2],
    ] as const) {
      const pushed = await mg(
        'push',
        await writeVersionFolder({ seed, metadata: { strategies: LABELS, accuracy: 0.6 + seed / 100 } }),
        '--model',
        'etfs/SMH',
        '--version',
        version,
      );
      expect(pushed.stderr).toMatch(/Validating and pushing etfs\/SMH@/);
      expect(pushed.code).toBe(0);
    }
  });
  afterAll(() => stack?.close());

  it('promotes to staging, then production, then rolls back to the previous production version', async () => {
    // staging
    const toStaging = await mg('promote', 'etfs/SMH', 'v2.0', '--stage', 'staging', '--reason', 'candidate');
    expect(toStaging.code).toBe(0);
    expect(toStaging.stdout).toBe(
      'etfs/SMH staging: (none) → v2.0 (promoted by admin, generation 1, reason: candidate)\n',
    );
    expect(await serving('STAGING')).toBe('v2.0');
    expect(await serving()).toBe('v1.0.0');

    // production, twice
    expect((await mg('promote', 'etfs/SMH', 'v2.0', '--reason', 'passed checks')).stdout).toMatch(
      /^etfs\/SMH production: v1\.0\.0 → v2\.0 /,
    );
    expect(await serving()).toBe('v2.0');
    const second = await mg('promote', 'etfs/SMH', 'v2.1', '--json');
    expect(second.json).toMatchObject({
      action: 'PROMOTE',
      stage: 'PRODUCTION',
      from: 'v2.0',
      to: 'v2.1',
      by: 'admin', // the principal, not $MODELGRAPH_USER
      generation: 3,
    });
    expect(await serving()).toBe('v2.1');

    // roll back: to the version served before the current one
    const back = await mg('rollback', 'etfs/SMH', '--reason', 'bad fills', '--json');
    expect(back.code).toBe(0);
    expect(back.json).toMatchObject({
      action: 'ROLLBACK',
      from: 'v2.1',
      to: 'v2.0',
      reason: 'bad fills',
      generation: 4,
    });
    expect(await serving()).toBe('v2.0');

    // roll back to a named version
    expect((await mg('rollback', 'etfs/SMH', '--to', 'v1.0.0', '--json')).json).toMatchObject({
      from: 'v2.0',
      to: 'v1.0.0',
    });
    expect(await serving()).toBe('v1.0.0');

    // ls shows it all, in JSON and for people
    const listed = await mg('ls', 'etfs/SMH', '--json');
    expect(listed.json.production).toBe('v1.0.0');
    expect(listed.json.staging).toBe('v2.0');
    expect(listed.json.versions.map((v: { version: string; stages: string[] }) => [v.version, v.stages])).toEqual([
      ['v1.0.0', ['PRODUCTION']],
      ['v2.0', ['STAGING']],
      ['v2.1', []],
    ]);
    expect(
      listed.json.history.map(
        (d: { stage: string; action: string; from: string | null; to: string }) =>
          `${d.stage} ${d.action} ${d.from}→${d.to}`,
      ),
    ).toEqual([
      'PRODUCTION ROLLBACK v2.0→v1.0.0',
      'PRODUCTION ROLLBACK v2.1→v2.0',
      'PRODUCTION PROMOTE v2.0→v2.1',
      'PRODUCTION PROMOTE v1.0.0→v2.0',
      'STAGING PROMOTE null→v2.0',
      'PRODUCTION PROMOTE null→v1.0.0',
    ]);
    const human = await mg('ls', 'etfs/SMH');
    expect(human.stdout).toMatch(/^etfs\/SMH {2}production: v1\.0\.0 {2}staging: v2\.0\n/);
    expect(human.stdout).toMatch(/\nv2\.0 +\d{4}-\d\d-\d\d +0\.610 +[\d.]+ KB +[0-9a-f]{12} +staging\n/);
    expect(human.stdout).toMatch(/production +rollback +v2\.0 +v1\.0\.0 +admin/);
    const all = await mg('ls', '--json');
    expect(all.json.models.find((m: { id: string }) => m.id === 'etfs/SMH')).toEqual({
      id: 'etfs/SMH',
      type: 'ETF_SPECIFIC',
      production: 'v1.0.0',
      staging: 'v2.0',
    });
    expect((await mg('ls')).stdout).toMatch(/^MODEL +TYPE +PRODUCTION +STAGING\n/);

    // the server's GraphQL view agrees (same pointers, same history)
    const gql = await stack.gql(
      `{ model(id: "etfs/SMH") { production { version } staging { version } history(first: 2) { action toVersion by } } }`,
    );
    expect(gql.data!.model).toEqual({
      production: { version: 'v1.0.0' },
      staging: { version: 'v2.0' },
      history: [
        { action: 'ROLLBACK', toVersion: 'v1.0.0', by: 'admin' },
        { action: 'ROLLBACK', toVersion: 'v2.0', by: 'admin' },
      ],
    });
  });

  it('fails with the error code and a non-zero exit code', async () => {
    const unknown = await mg('promote', 'etfs/SMH', 'v7');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error VERSION_NOT_FOUND: Model "etfs/SMH" has no version "v7"\n');

    const noModel = await mg('rollback', 'etfs/NOPE', '--json');
    expect(noModel.code).toBe(1);
    expect(noModel.error).toMatchObject({ code: 'MODEL_NOT_FOUND', model: 'etfs/NOPE' });

    const noHistory = await mg('rollback', 'etfs/SMH', '--stage', 'staging');
    expect(noHistory.code).toBe(2);
    expect(noHistory.stderr).toMatch(/^error BAD_USER_INPUT: etfs\/SMH has no earlier staging version to roll back to/);

    const badStage = await mg('promote', 'etfs/SMH', 'v2.0', '--stage', 'canary');
    expect(badStage.code).toBe(2);
    expect(badStage.stderr).toMatch(/--stage must be production or staging/);

    const missingOption = await mg('push', '/tmp');
    expect(missingOption.code).toBe(2);
    expect(missingOption.stderr).toMatch(/required option '--model <id>' not specified/);
  });
});
