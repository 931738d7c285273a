import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTreeEnsembleClassifier } from '../../src/demo/treeEnsemble';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { publishVersion } from '../../src/registry/versionPublisher';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { cliFor, FEATURES, LABELS } from './support';

const PREDICT = `query($f: JSONObject!, $m: ID) {
  predict(ticker: "SPY", features: $f, model: $m) { version strategy ensemble { voting members { model { id } version weight strategy } } }
}`;
const PREDICT_MANY = `query($requests: [PredictionRequest!]!) { predictMany(requests: $requests) { version shadow { version agrees } } }`;
const TRAFFIC = `query($id: ID!) {
  model(id: $id) { production { version } traffic { shadow canaryPercent } shadowAgreement { productionVersion stagingVersion rows agreements } }
  deployments(model: $id, first: 3) { action fromVersion toVersion by reason traffic { shadow canaryPercent } }
}`;

/** `modelgraph ensemble` and `modelgraph traffic` against a real stack (embedded S3 + GraphQL server). */
describe('modelgraph ensemble and traffic', () => {
  let stack: TestStack;
  let mg: ReturnType<typeof cliFor>;
  const keysOf = (prefix: string) => stack.server.runtime.store.listKeys(prefix);
  const storedJson = async (key: string) =>
    JSON.parse((await stack.server.runtime.store.get(key)).body.toString('utf8'));

  beforeAll(async () => {
    // TTL 0: the server revalidates pointers on every request, so what the CLI changes shows at once.
    // Shadow counts are flushed by the test (runtime.shadows.flush()), not by a timer.
    stack = await startTestStack({ env: { POINTER_TTL_SECONDS: '0', SHADOW_FLUSH_SECONDS: '3600' } });
    mg = cliFor(stack);
    // A classifier with another label set than the demo models (4 labels instead of the demo's).
    const model = buildTreeEnsembleClassifier({ featureNames: FEATURES, labels: LABELS, trees: 2, depth: 2, seed: 9 });
    await publishVersion(
      stack.server.runtime.store,
      'universal/four_labels',
      'v1',
      { 'model.onnx': Buffer.from(model), 'feature_names.json': Buffer.from(JSON.stringify(FEATURES)) },
      { strategies: LABELS },
    );
  });
  afterAll(() => stack?.close());

  describe('ensemble', () => {
    it('publishes an ensemble version (members pinned, production when no @version), which can then be promoted and predicted', async () => {
      const published = await mg(
        'ensemble',
        'ensembles/cli_vote',
        '--version',
        'v1',
        '--member',
        'etfs/SPY=0.5',
        '--member',
        'stocks/universal@v1.0.0=0.3',
        '--member',
        'universal/all_assets_classifier=2',
        '--voting',
        'hard',
        '--description',
        'CLI hard vote',
        '--json',
      );
      expect(published.stderr).toBe('');
      expect(published.code).toBe(0);

      // What is stored: members pinned to exact versions (SPY and all_assets from their production), weights, voting.
      const members = [
        { model: 'etfs/SPY', version: 'v1.1.0', weight: 0.5 },
        { model: 'stocks/universal', version: 'v1.0.0', weight: 0.3 },
        { model: 'universal/all_assets_classifier', version: 'v1.0.0', weight: 2 },
      ];
      const stored = await storedJson('ensembles/cli_vote/archive/v1/metadata.json');
      expect(stored.ensemble).toEqual({ voting: 'hard', members });
      expect(stored).toMatchObject({
        version: 'v1',
        description: 'CLI hard vote',
        registered_by: 'admin', // the principal, not $MODELGRAPH_USER
        strategies: [...OPTION_STRATEGIES],
      });
      expect(await storedJson('ensembles/cli_vote/archive/v1/ensemble_weights.json')).toEqual({
        'etfs/SPY': 0.5,
        'stocks/universal': 0.3,
        'universal/all_assets_classifier': 2,
      });
      expect(await storedJson('ensembles/cli_vote/archive/v1/voting_strategy.json')).toMatchObject({ method: 'hard' });
      expect(published.json).toMatchObject({
        model: 'ensembles/cli_vote',
        version: 'v1',
        registered: {
          version: 'v1',
          modelFile: 'ensemble_weights.json',
          sha256: stored.artifacts['ensemble_weights.json'].sha256,
          labels: [...OPTION_STRATEGIES],
          ensemble: {
            voting: 'HARD',
            members: members.map((m) => ({ model: { id: m.model }, version: m.version, weight: m.weight })),
          },
        },
      });

      // Published, not served yet.
      const f = featuresFor(DEMO_FEATURE_NAMES, 3);
      const before = await stack.gql(PREDICT, { f, m: 'ensembles/cli_vote' });
      expect(before.errors?.[0].extensions?.code).toBe('MODEL_NOT_DEPLOYED');

      // Promoted with the CLI, it answers predict with its pinned members and its voting.
      expect((await mg('promote', 'ensembles/cli_vote', 'v1', '--json')).json).toMatchObject({
        action: 'PROMOTE',
        from: null,
        to: 'v1',
      });
      const res = await stack.gql(PREDICT, { f, m: 'ensembles/cli_vote' });
      expect(res.errors).toBeUndefined();
      const p = res.data!.predict;
      expect(p.version).toBe('v1');
      expect(p.ensemble.voting).toBe('HARD');
      expect(
        p.ensemble.members.map((m: { model: { id: string }; version: string; weight: number }) => ({
          model: m.model.id,
          version: m.version,
          weight: m.weight,
        })),
      ).toEqual(members);
      // Hard voting: the answer is one of the members' own strategies.
      expect(p.ensemble.members.map((m: { strategy: string }) => m.strategy)).toContain(p.strategy);

      // A version is written once: the same version again is CONFLICT, and the stored one is unchanged.
      const again = await mg(
        'ensemble',
        'ensembles/cli_vote',
        '--version',
        'v1',
        '--member',
        'etfs/SPY=1',
        '--voting',
        'soft',
      );
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^error CONFLICT: /);
      expect((await storedJson('ensembles/cli_vote/archive/v1/metadata.json')).ensemble).toEqual({
        voting: 'hard',
        members,
      });
    });

    it('prints a short summary for people: the pinned members and the next step', async () => {
      const run = await mg(
        'ensemble',
        'ensembles/cli_vote',
        '--version',
        'v2',
        '--member',
        'etfs/QQQ=1.5',
        '--member',
        'stocks/universal@v1.1.0=0.25',
        '--voting',
        'SOFT',
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(
        [
          `Registered ensembles/cli_vote@v2 (soft vote of 2 members, ${DEMO_FEATURE_NAMES.length} features, ${OPTION_STRATEGIES.length} labels)`,
          '',
          'MEMBER            VERSION                  WEIGHT',
          'etfs/QQQ          v1.0.0 (production now)  1.5',
          'stocks/universal  v1.1.0                   0.25',
          '',
          'Next: modelgraph promote ensembles/cli_vote v2 --stage staging',
          '',
        ].join('\n'),
      );
      expect((await storedJson('ensembles/cli_vote/archive/v2/metadata.json')).ensemble.voting).toBe('soft');
    });

    it('a malformed --member is a usage error (exit 2) naming the value, and nothing is written', async () => {
      const bad = [
        'etfs/SPY', // no weight
        'etfs/SPY=', // empty weight
        'etfs/SPY=abc',
        'etfs/SPY=0', // not positive
        'etfs/SPY=-1',
        'etfs/SPY=0x10', // Number() would take it
        'etfs/SPY=Infinity',
        'etfs/SPY=1=2',
        '=1', // no model
        'etfs/SPY@=1', // empty version
        'etfs/SPY@v1@v2=1',
        'etfs/../SPY=1',
        'etfs/spy=1',
        'etfs/SPY@../v1=1',
      ];
      for (const member of bad) {
        const run = await mg(
          'ensemble',
          'ensembles/cli_bad',
          '--version',
          'v1',
          '--member',
          'stocks/universal=1',
          '--member',
          member,
          '--voting',
          'soft',
        );
        expect(run.code, member).toBe(2);
        expect(run.stderr, member).toContain(`error BAD_USER_INPUT: --member ${JSON.stringify(member)}: `);
        expect(run.stdout, member).toBe('');
      }
      const json = await mg(
        'ensemble',
        'ensembles/cli_bad',
        '--version',
        'v1',
        '--member',
        'etfs/SPY:0.5',
        '--voting',
        'soft',
        '--json',
      );
      expect(json.code).toBe(2);
      expect(json.error).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'member', value: 'etfs/SPY:0.5' });

      // The other parts of the command line, checked before anything is written too.
      const usage: Array<[string[], RegExp]> = [
        [['--version', 'v1', '--voting', 'soft'], /required option '--member <spec>' not specified/],
        [['--version', 'v1', '--member', 'etfs/SPY=1'], /required option '--voting <method>' not specified/],
        [
          ['--version', 'v1', '--member', 'etfs/SPY=1', '--voting', 'majority'],
          /--voting must be soft or hard, not "majority"/,
        ],
        [['--member', 'etfs/SPY=1', '--voting', 'soft'], /required option '--version <version>' not specified/],
        [
          ['--version', 'v1', '--member', 'etfs/SPY=1', '--member', 'etfs/SPY@v1.0.0=2', '--voting', 'soft'],
          /each member model may appear once/,
        ],
        [
          [
            '--version',
            'v1',
            ...Array.from({ length: 17 }, (_, i) => ['--member', `universal/m${i}=1`]).flat(),
            '--voting',
            'soft',
          ],
          /at most 16 members/,
        ],
      ];
      for (const [args, message] of usage) {
        const run = await mg('ensemble', 'ensembles/cli_bad', ...args);
        expect(run.code, args.join(' ')).toBe(2);
        expect(run.stderr, args.join(' ')).toMatch(message);
      }
      const notEnsemble = await mg(
        'ensemble',
        'universal/cli_bad',
        '--version',
        'v1',
        '--member',
        'etfs/SPY=1',
        '--voting',
        'soft',
      );
      expect(notEnsemble.code).toBe(2);
      expect(notEnsemble.stderr).toMatch(/^error BAD_USER_INPUT: .*ensembles\/\{name\}/);

      expect(await keysOf('ensembles/cli_bad/')).toEqual([]);
      expect(await keysOf('universal/cli_bad/')).toEqual([]);
    });

    it('a regressor member, or members with other label sets, is INVALID_MODEL (exit 1) and nothing is written', async () => {
      const regressor = await mg(
        'ensemble',
        'ensembles/cli_bad',
        '--version',
        'v1',
        '--member',
        'etfs/SPY=1',
        '--member',
        'universal/risk_scorer=1',
        '--voting',
        'soft',
        '--json',
      );
      expect(regressor.code).toBe(1);
      expect(regressor.error).toMatchObject({ code: 'INVALID_MODEL', member: 'universal/risk_scorer' });
      expect(regressor.error.message).toMatch(/universal\/risk_scorer@v1\.0\.0 is a regressor/);

      const labels = await mg(
        'ensemble',
        'ensembles/cli_bad',
        '--version',
        'v1',
        '--member',
        'etfs/SPY=1',
        '--member',
        'universal/four_labels@v1=1',
        '--voting',
        'soft',
      );
      expect(labels.code).toBe(1);
      expect(labels.stderr).toMatch(
        /^error INVALID_MODEL: ensembles\/cli_bad@v1: members must share one label set .*universal\/four_labels@v1 lacks /,
      );

      const unknown = await mg(
        'ensemble',
        'ensembles/cli_bad',
        '--version',
        'v1',
        '--member',
        'etfs/SPY@v9=1',
        '--voting',
        'soft',
      );
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toBe('error VERSION_NOT_FOUND: Model "etfs/SPY" has no version "v9"\n');

      expect(await keysOf('ensembles/cli_bad/')).toEqual([]);
    });
  });

  describe('traffic', () => {
    it('without options prints the current settings: off and 0% before any change', async () => {
      const human = await mg('traffic', 'etfs/SPY');
      expect(human.code).toBe(0);
      expect(human.stdout).toBe(
        'etfs/SPY  production: v1.1.0  staging: v1.1.0\nshadow off, canary 0%\n\nNo shadow agreement recorded.\n',
      );
      const json = await mg('traffic', 'etfs/SPY', '--json');
      expect(json.json).toEqual({
        model: 'etfs/SPY',
        production: 'v1.1.0',
        staging: 'v1.1.0',
        traffic: { shadow: false, canary_percent: 0 },
        shadowAgreement: [],
      });
      const unknown = await mg('traffic', 'etfs/NOPE', '--json');
      expect(unknown.code).toBe(1);
      expect(unknown.error).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    });

    it('--shadow on and --canary 25 write the production pointer as TRAFFIC deployments; the status shows them with the shadow agreement', async () => {
      // A candidate in staging that differs from production.
      expect((await mg('promote', 'etfs/SPY', 'v1.0.0', '--stage', 'staging')).code).toBe(0);

      const shadowOn = await mg('traffic', 'etfs/SPY', '--shadow', 'on', '--reason', 'compare v1.0.0', '--json');
      expect(shadowOn.stderr).toBe('');
      expect(shadowOn.code).toBe(0);
      expect(shadowOn.json).toMatchObject({
        action: 'TRAFFIC',
        stage: 'PRODUCTION',
        from: 'v1.1.0',
        to: 'v1.1.0',
        by: 'admin',
        reason: 'compare v1.0.0',
        traffic: { shadow: true, canary_percent: 0 },
      });
      let gql = (await stack.gql(TRAFFIC, { id: 'etfs/SPY' })).data!;
      expect(gql.model.traffic).toEqual({ shadow: true, canaryPercent: 0 });
      expect(gql.model.production.version).toBe('v1.1.0');
      expect(gql.deployments[0]).toEqual({
        action: 'TRAFFIC',
        fromVersion: 'v1.1.0',
        toVersion: 'v1.1.0',
        by: 'admin',
        reason: 'compare v1.0.0',
        traffic: { shadow: true, canaryPercent: 0 },
      });

      // Production predictions now run staging too; the counts reach the bucket on flush.
      const requests = Array.from({ length: 12 }, (_, i) => ({
        ticker: 'SPY',
        features: featuresFor(DEMO_FEATURE_NAMES, 40 + i),
      }));
      const predicted = (await stack.gql(PREDICT_MANY, { requests })).data!.predictMany as Array<{
        version: string;
        shadow: { version: string; agrees: boolean } | null;
      }>;
      expect(predicted.every((p) => p.version === 'v1.1.0' && p.shadow?.version === 'v1.0.0')).toBe(true);
      const agreements = predicted.filter((p) => p.shadow!.agrees).length;
      await stack.server.runtime.shadows.flush();

      // --canary keeps shadow as it is (omitted settings stay).
      const canary = await mg('traffic', 'etfs/SPY', '--canary', '25');
      expect(canary.code).toBe(0);
      expect(canary.stdout).toBe(
        `etfs/SPY production v1.1.0: shadow on, canary 25% (set by admin, generation ${shadowOn.json.generation + 1})\n`,
      );
      gql = (await stack.gql(TRAFFIC, { id: 'etfs/SPY' })).data!;
      expect(gql.model.traffic).toEqual({ shadow: true, canaryPercent: 25 });
      expect(gql.deployments.slice(0, 2).map((d: { action: string }) => d.action)).toEqual(['TRAFFIC', 'TRAFFIC']);
      expect(gql.deployments[0].traffic).toEqual({ shadow: true, canaryPercent: 25 });
      const stored = await storedJson('etfs/SPY/production/metadata.json');
      expect(stored.traffic).toEqual({ shadow: true, canary_percent: 25 });
      expect(stored.version).toBe('v1.1.0');

      // The status: settings and the agreement the server recorded (the same numbers GraphQL reports).
      const pair = { productionVersion: 'v1.1.0', stagingVersion: 'v1.0.0', rows: 12, agreements };
      expect(gql.model.shadowAgreement).toEqual([pair]);
      const status = await mg('traffic', 'etfs/SPY', '--json');
      expect(status.json).toEqual({
        model: 'etfs/SPY',
        production: 'v1.1.0',
        staging: 'v1.0.0',
        traffic: { shadow: true, canary_percent: 25 },
        shadowAgreement: [{ ...pair, rate: agreements / 12 }],
      });
      const human = await mg('traffic', 'etfs/SPY');
      expect(human.stdout).toBe(
        [
          'etfs/SPY  production: v1.1.0  staging: v1.0.0',
          'shadow on, canary 25%',
          '',
          'PRODUCTION  STAGING  ROWS  AGREEMENTS  RATE',
          `v1.1.0      v1.0.0   12    ${String(agreements).padEnd(10)}  ${((agreements / 12) * 100).toFixed(1)}%`,
          '',
        ].join('\n'),
      );

      // Both off again, in one change.
      const off = await mg('traffic', 'etfs/SPY', '--shadow', 'off', '--canary', '0', '--json');
      expect(off.json).toMatchObject({ action: 'TRAFFIC', traffic: { shadow: false, canary_percent: 0 } });
      expect((await stack.gql(TRAFFIC, { id: 'etfs/SPY' })).data!.model.traffic).toEqual({
        shadow: false,
        canaryPercent: 0,
      });
    });

    it('says when staging serves the production version (shadow and canary have no effect yet)', async () => {
      const run = await mg('traffic', 'etfs/IWM', '--shadow', 'on');
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(
        /etfs\/IWM staging is not deployed: shadow and canary take effect once another version is promoted to staging/,
      );
      expect((await stack.gql(TRAFFIC, { id: 'etfs/IWM' })).data!.model.traffic).toEqual({
        shadow: true,
        canaryPercent: 0,
      });
    });

    it('--canary 150 and other bad values are BAD_USER_INPUT (exit 2); the pointer is not written', async () => {
      const before = await stack.server.runtime.store.get('etfs/QQQ/production/metadata.json');
      const cases: Array<[string[], RegExp]> = [
        [['--canary', '150'], /^error BAD_USER_INPUT: --canary must be a percentage from 0 to 100, not "150"\n$/],
        [['--canary', '-5'], /--canary must be a percentage from 0 to 100, not "-5"/],
        [['--canary', 'abc'], /--canary must be a percentage from 0 to 100, not "abc"/],
        [['--canary', ''], /--canary must be a percentage from 0 to 100/],
        [['--shadow', 'yes'], /^error BAD_USER_INPUT: --shadow must be on or off, not "yes"\n$/],
        [['--reason', 'no change'], /--reason is recorded with a change/],
        [['--shadow', 'on', '--reason', 'x'.repeat(501)], /--reason must be at most 500 printable characters/],
      ];
      for (const [args, message] of cases) {
        const run = await mg('traffic', 'etfs/QQQ', ...args);
        expect(run.code, args.join(' ')).toBe(2);
        expect(run.stderr, args.join(' ')).toMatch(message);
      }
      const json = await mg('traffic', 'etfs/QQQ', '--canary', '150', '--json');
      expect(json.code).toBe(2);
      expect(json.error).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'canary' });
      expect((await stack.server.runtime.store.get('etfs/QQQ/production/metadata.json')).etag).toBe(before.etag);

      const notDeployed = await mg('traffic', 'experimental/momentum_v2', '--shadow', 'on');
      expect(notDeployed.code).toBe(1);
      expect(notDeployed.stderr).toMatch(/^error MODEL_NOT_DEPLOYED: /);
    });
  });
});
