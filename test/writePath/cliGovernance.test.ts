import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';
import { cli, cliFor, LABELS, writeVersionFolder } from './support';

/**
 * The CLI's changes go through the API: principals from `modelgraph token`,
 * recorded as `by`; scopes, four eyes and promotion policies decided by the
 * server; nothing written to the bucket when the API is not there.
 */
describe('modelgraph through the API: principals, governance, no bucket fallback', () => {
  let stack: TestStack;
  let admin: ReturnType<typeof cliFor>;
  /** Tokens of the principals the tests create with `modelgraph token add`. */
  const tokens: Record<string, string> = {};
  const inDataDir = (...args: string[]) => cli(args, { env: { MODELGRAPH_DATA_DIR: stack.dataDir } });
  const as = (name: string) => cliFor(stack, tokens[name]);
  const storedMetadata = async (model: string, version: string) =>
    JSON.parse((await stack.server.runtime.store.get(`${model}/archive/${version}/metadata.json`)).body.toString());
  /** Successful writes (PUT/POST/DELETE) the embedded S3 server saw under `prefix` since the last reset. */
  const writesUnder = (prefix: string) =>
    stack.server
      .s3!.requests()
      .filter((r) => !['GET', 'HEAD'].includes(r.method) && r.key.startsWith(prefix) && r.status < 300);

  beforeAll(async () => {
    stack = await startTestStack({ env: { POINTER_TTL_SECONDS: '0' } });
    admin = cliFor(stack);
  });
  afterAll(() => stack?.close());

  describe('modelgraph token', () => {
    it('adds principals (the token printed once), lists them without tokens, and refuses bad names and scopes', async () => {
      const human = await inDataDir('token', 'add', 'alice', '--scope', 'models:write,models:approve');
      expect(human.code).toBe(0);
      const token = /\n {2}(mg_\S+)\n/.exec(human.stdout)?.[1];
      expect(token).toBeDefined();
      tokens.alice = token!;
      expect(human.stdout).toMatch(/^Created principal alice \(models:write, models:approve\) in /);
      expect(human.stdout).toContain('This token will not be shown again');

      const json = await inDataDir('token', 'add', 'ci-bot', '--scope', 'models:write', '--json');
      expect(json.code).toBe(0);
      expect(json.json).toMatchObject({ name: 'ci-bot', scopes: ['models:write'] });
      tokens['ci-bot'] = json.json.token;

      const listed = await inDataDir('token', 'list', '--json');
      expect(listed.json.principals.map((p: { name: string; scopes: string[] }) => [p.name, p.scopes])).toEqual([
        ['admin', ['models:write', 'models:approve']],
        ['alice', ['models:write', 'models:approve']],
        ['ci-bot', ['models:write']],
      ]);
      const table = await inDataDir('token', 'list');
      expect(table.stdout).toMatch(/^NAME +SCOPES +CREATED\nadmin +models:write,models:approve +\d{4}-/);
      expect(table.stdout).not.toContain(tokens.alice);

      const again = await inDataDir('token', 'add', 'alice', '--scope', 'models:write');
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^error CONFLICT: A principal named "alice" exists/);
      const badScope = await inDataDir('token', 'add', 'bob', '--scope', 'models:admin', '--json');
      expect(badScope.code).toBe(2);
      expect(badScope.error).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(badScope.error.message).toMatch(/Unknown scope "models:admin"/);
      const badName = await inDataDir('token', 'add', 'Bob Smith', '--scope', 'models:write');
      expect(badName.code).toBe(2);
      const missing = await inDataDir('token', 'remove', 'nobody');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^error PRINCIPAL_NOT_FOUND: /);
    });

    it("a principal's moves are recorded with its name as `by` (never $MODELGRAPH_USER); removed, its token stops working", async () => {
      const promoted = await as('ci-bot')('promote', 'etfs/QQQ', 'v1.0.0', '--stage', 'staging', '--json');
      expect(promoted.stderr).toBe('');
      expect(promoted.code).toBe(0);
      expect(promoted.json).toMatchObject({ action: 'PROMOTE', stage: 'STAGING', by: 'ci-bot' });
      const history = await stack.gql(`{ deployments(model: "etfs/QQQ", first: 1) { by action stage } }`);
      expect(history.data!.deployments).toEqual([{ by: 'ci-bot', action: 'PROMOTE', stage: 'STAGING' }]);
      const pointer = JSON.parse(
        (await stack.server.runtime.store.get('etfs/QQQ/staging/metadata.json')).body.toString(),
      );
      expect(pointer.promoted_by).toBe('ci-bot');
      expect(JSON.stringify(pointer)).not.toContain('test-engineer'); // cli() sets MODELGRAPH_USER=test-engineer

      const traffic = await as('ci-bot')('traffic', 'etfs/QQQ', '--shadow', 'on', '--json');
      expect(traffic.json).toMatchObject({ action: 'TRAFFIC', by: 'ci-bot' });

      const throwaway = await inDataDir('token', 'add', 'temp', '--scope', 'models:write', '--json');
      tokens.temp = throwaway.json.token;
      expect((await as('temp')('traffic', 'etfs/QQQ', '--shadow', 'off')).code).toBe(0);
      const removed = await inDataDir('token', 'remove', 'temp');
      expect(removed.stdout).toBe('Removed principal temp: its token no longer works.\n');
      const refused = await as('temp')('traffic', 'etfs/QQQ', '--shadow', 'on', '--json');
      expect(refused.code).toBe(1);
      expect(refused.error.code).toBe('UNAUTHENTICATED');
      expect(refused.error.message).toMatch(/the token from MODELGRAPH_TOKEN names no principal of this server/);
    });
  });

  describe('push, approve and reject', () => {
    it('push records the authenticated principal as publisher (not $MODELGRAPH_USER), with the lineage', async () => {
      const folder = await writeVersionFolder({ seed: 3, metadata: { strategies: LABELS, accuracy: 0.72 } });
      const run = await as('ci-bot')('push', folder, '--model', 'etfs/SMH', '--version', 'v5', '--json');
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const stored = await storedMetadata('etfs/SMH', 'v5');
      expect(stored.registered_by).toBe('ci-bot');
      expect(stored.published_by).toBeUndefined();
      expect(JSON.stringify(stored)).not.toContain('test-engineer');
      const res = await stack.gql(
        `{ model(id: "etfs/SMH") { version(version: "v5") { approval { status publishedBy } lineage { publishedBy sourceUri } } } }`,
      );
      expect(res.data!.model.version).toEqual({
        approval: { status: 'PENDING', publishedBy: 'ci-bot' },
        lineage: { publishedBy: 'ci-bot', sourceUri: folder },
      });
    });

    it('a principal with only models:write cannot approve (FORBIDDEN); the publisher cannot approve its own version (four eyes)', async () => {
      const writer = await as('ci-bot')('approve', 'etfs/SMH', 'v5', '--json');
      expect(writer.code).toBe(1);
      expect(writer.error.code).toBe('FORBIDDEN');
      expect(writer.error.message).toMatch(/models:approve/);

      // alice (write + approve) publishes v6: she may not approve it herself.
      const folder = await writeVersionFolder({ seed: 4 });
      expect((await as('alice')('push', folder, '--model', 'etfs/SMH', '--version', 'v6')).code).toBe(0);
      const own = await as('alice')('approve', 'etfs/SMH', 'v6', '--json');
      expect(own.code).toBe(1);
      expect(own.error).toMatchObject({ code: 'FORBIDDEN', rule: 'FOUR_EYES' });

      // … another approver may; ci-bot's v5 alice may.
      const approved = await as('alice')('approve', 'etfs/SMH', 'v5', '--note', 'backtest ok');
      expect(approved.stderr).toBe('');
      expect(approved.stdout).toBe(
        'etfs/SMH@v5 APPROVED by alice (published by ci-bot, generation 2, note: backtest ok)\n',
      );
      const rejected = await admin('reject', 'etfs/SMH', 'v6', '--note', 'overfit', '--json');
      expect(rejected.json.approval).toMatchObject({ status: 'REJECTED', by: 'admin', publishedBy: 'alice' });
    });
  });

  describe('promotion policy', () => {
    it('policy is set by an approver; a promotion that breaks it prints each violation on its own line and changes nothing', async () => {
      const forbidden = await as('ci-bot')('policy', 'etfs/SMH', '--require-approval');
      expect(forbidden.code).toBe(1);
      expect(forbidden.stderr).toMatch(/^error FORBIDDEN: /);

      const set = await as('alice')(
        'policy',
        'etfs/SMH',
        '--require-approval',
        '--min-shadow-rows',
        '100',
        '--reason',
        'gate production',
      );
      expect(set.stderr).toBe('');
      expect(set.stdout).toBe(
        [
          'etfs/SMH promotion policy set by alice (generation 1, reason: gate production):',
          '  require approval: yes',
          '  min shadow rows: 100',
          '',
        ].join('\n'),
      );
      const shown = await admin('policy', 'etfs/SMH', '--json');
      expect(shown.json.policy).toMatchObject({
        by: 'alice',
        rules: { requireApproval: true, minShadowRows: 100, minShadowAgreement: null },
      });

      const s3 = stack.server.s3!;
      s3.resetRequests();
      const refused = await as('ci-bot')('promote', 'etfs/SMH', 'v5', '--reason', 'ship it');
      expect(refused.code).toBe(1);
      expect(refused.stderr.split('\n')).toEqual([
        expect.stringMatching(/^error POLICY_VIOLATION: /),
        '  minShadowRows: required >= 100, actual 0',
        '',
      ]);
      const json = await as('ci-bot')('promote', 'etfs/SMH', 'v5', '--json');
      expect(json.error).toMatchObject({
        code: 'POLICY_VIOLATION',
        violations: [{ rule: 'minShadowRows', required: '>= 100', actual: '0' }],
      });
      expect(writesUnder('etfs/SMH/production/')).toEqual([]);

      const unapproved = await as('ci-bot')('promote', 'etfs/SMH', 'v6');
      expect(unapproved.stderr).toMatch(/\n {2}requireApproval: required APPROVED, actual REJECTED\n/);
    });

    it('--override needs --reason and models:approve; it is recorded with the rules it broke', async () => {
      const noReason = await as('alice')('promote', 'etfs/SMH', 'v5', '--override');
      expect(noReason.code).toBe(2);
      expect(noReason.stderr).toMatch(/--override needs a --reason/);
      const writer = await as('ci-bot')('promote', 'etfs/SMH', 'v5', '--override', '--reason', 'urgent', '--json');
      expect(writer.code).toBe(1);
      expect(writer.error.code).toBe('FORBIDDEN');

      const run = await as('alice')('promote', 'etfs/SMH', 'v5', '--override', '--reason', 'urgent fix');
      expect(run.stderr).toMatch(/POINTER_TTL_SECONDS/);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(
        /^etfs\/SMH production: v1\.0\.0 → v5 \(promoted with a policy override by alice, generation \d+, reason: urgent fix\)\n {2}overridden minShadowRows: required >= 100, actual 0\n$/,
      );
      const history = await stack.gql(
        `{ deployments(model: "etfs/SMH", first: 1) { toVersion by override violations { rule } } }`,
      );
      expect(history.data!.deployments[0]).toEqual({
        toVersion: 'v5',
        by: 'alice',
        override: true,
        violations: [{ rule: 'minShadowRows' }],
      });
    });
  });

  describe('aliases, tags, versions and compare', () => {
    it('sets, lists, shows and deletes an alias, with principals and reasons in its history', async () => {
      const set = await as('ci-bot')('alias', 'etfs/SMH', 'champion', 'v5', '--reason', 'best backtest');
      expect(set.stderr).toBe('');
      expect(set.stdout).toBe(
        'etfs/SMH alias champion: (none) → v5 (by ci-bot, generation 1, reason: best backtest)\n',
      );
      expect((await admin('alias', 'etfs/SMH', 'paper', 'v6', '--json')).json).toMatchObject({
        alias: 'paper',
        action: 'SET',
        toVersion: 'v6',
        by: 'admin',
      });
      const listed = await admin('alias', 'etfs/SMH', '--json');
      expect(listed.json.aliases).toEqual([
        { name: 'champion', version: 'v5', generation: 1 },
        { name: 'paper', version: 'v6', generation: 1 },
      ]);
      const removed = await admin('alias', 'etfs/SMH', 'paper', '--delete', '--reason', 'done');
      expect(removed.stdout).toBe('etfs/SMH alias paper: v6 → (deleted) (by admin, generation 2, reason: done)\n');
      const shown = await admin('alias', 'etfs/SMH', 'paper');
      expect(shown.stdout).toMatch(/^etfs\/SMH alias paper: \(deleted\) {2}\(generation 2\)\n/);
      expect((await admin('alias', 'etfs/SMH')).stdout).toMatch(/^ALIAS +VERSION +GENERATION\nchampion +v5 +1\n$/);

      const reserved = await admin('alias', 'etfs/SMH', 'production', 'v5');
      expect(reserved.code).toBe(2);
      expect(reserved.stderr).toMatch(/^error BAD_USER_INPUT: /);
      const both = await admin('alias', 'etfs/SMH', 'champion', 'v5', '--delete');
      expect(both.code).toBe(2);
    });

    it('tags a version, lists versions filtered and ordered by the server, and compares two versions', async () => {
      const tagged = await as('ci-bot')(
        'tag',
        'etfs/SMH',
        'v5',
        'team=vol',
        'dataset=2026-q3',
        '--description',
        'vol team',
      );
      expect(tagged.stderr).toBe('');
      expect(tagged.stdout).toBe('etfs/SMH@v5 tags:\n  team=vol\n  dataset=2026-q3\n\ndescription: vol team\n');
      expect((await admin('tag', 'etfs/SMH', 'v5', '--json')).json).toMatchObject({
        tags: { team: 'vol', dataset: '2026-q3' },
        description: 'vol team',
      });
      expect((await admin('tag', 'etfs/SMH', 'v5', 'novalue')).code).toBe(2);

      const all = await admin('versions', 'etfs/SMH', '--json');
      // Newest first, as versionsConnection orders by default.
      expect(all.json.versions.map((v: { version: string }) => v.version)).toEqual(['v6', 'v5', 'v1.0.0']);
      const approvedVol = await admin('versions', 'etfs/SMH', '--filter', 'approval=APPROVED,tag.team=vol', '--json');
      expect(approvedVol.json.versions).toEqual([
        expect.objectContaining({
          version: 'v5',
          approval: { status: 'APPROVED', publishedBy: 'ci-bot' },
          tags: { team: 'vol', dataset: '2026-q3' },
          aliases: ['champion'],
          stages: ['PRODUCTION'],
        }),
      ]);
      const byAccuracy = await admin('versions', 'etfs/SMH', '--order-by', 'accuracy:asc', '--first', '2', '--json');
      const accuracies = byAccuracy.json.versions.map((v: { accuracy: number }) => v.accuracy);
      expect(accuracies).toHaveLength(2);
      expect(accuracies).toEqual([...accuracies].sort((a, b) => a - b));
      const human = await admin('versions', 'etfs/SMH', '--filter', 'tag.team=vol');
      expect(human.stdout).toMatch(
        /^VERSION +CREATED +ACCURACY +APPROVAL +PUBLISHED BY +STAGES +ALIASES +TAGS\nv5 .* approved +ci-bot +production +champion +team=vol dataset=2026-q3\n$/,
      );
      for (const bad of [
        ['--filter', 'approval=MAYBE'],
        ['--filter', 'colour=red'],
        ['--order-by', 'size'],
        ['--first', '0'],
      ]) {
        const run = await admin('versions', 'etfs/SMH', ...bad);
        expect(run.code, bad.join(' ')).toBe(2);
      }

      const compared = await admin('compare', 'etfs/SMH', 'v5', 'v6', '--json');
      expect(compared.code).toBe(0);
      expect(compared.json.comparison).toMatchObject({
        a: { version: 'v5', approval: { status: 'APPROVED' } },
        b: { version: 'v6', approval: { status: 'REJECTED' } },
        featuresAdded: [],
        featuresRemoved: [],
        labelsAdded: [],
      });
      const text = await admin('compare', 'etfs/SMH', 'v5', 'v6');
      expect(text.stdout).toMatch(/^etfs\/SMH: v5 → v6\n\n +v5 +v6 +DELTA\napproval +approved +rejected/);
    });
  });

  describe('where the API is', () => {
    it('--api and --token reach a server started on another data folder', async () => {
      const elsewhere = await mkdtemp(join(tmpdir(), 'modelgraph-elsewhere-'));
      try {
        const env = { env: { MODELGRAPH_DATA_DIR: elsewhere } };
        const run = await cli(
          [
            'promote',
            'etfs/QQQ',
            'v1.0.0',
            '--stage',
            'staging',
            '--api',
            stack.server.url,
            '--token',
            tokens.alice,
            '--json',
          ],
          env,
        );
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        expect(run.json).toMatchObject({ action: 'PROMOTE', stage: 'STAGING', to: 'v1.0.0', by: 'alice' });
        const viaEnv = await cli(['traffic', 'etfs/QQQ', '--json'], {
          env: { MODELGRAPH_DATA_DIR: elsewhere, MODELGRAPH_API_URL: stack.server.graphqlUrl },
        });
        expect(viaEnv.code).toBe(0);
        expect(viaEnv.json.model).toBe('etfs/QQQ');
        const noToken = await cli(['approve', 'etfs/SMH', 'v5', '--api', stack.server.graphqlUrl, '--json'], env);
        expect(noToken.code).toBe(1);
        expect(noToken.error.code).toBe('UNAUTHENTICATED');
        expect(noToken.error.message).toMatch(/the CLI sent no token: give --token or MODELGRAPH_TOKEN/);
      } finally {
        await rm(elsewhere, { recursive: true, force: true });
      }
    });

    it('without a running API a change fails with SERVER_UNAVAILABLE and the bucket is unchanged, even when the bucket is reachable', async () => {
      // A data folder whose s3-endpoint file reaches the live bucket, but with no server-url: no API.
      const bucketOnly = await mkdtemp(join(tmpdir(), 'modelgraph-bucket-only-'));
      try {
        await copyFile(join(stack.dataDir, 's3-endpoint'), join(bucketOnly, 's3-endpoint'));
        const mg = (...args: string[]) =>
          cli([...args, '--json'], { env: { MODELGRAPH_DATA_DIR: bucketOnly, MODELGRAPH_TOKEN: tokens.alice } });
        const store = stack.server.runtime.store;
        const pointers = ['etfs/SPY/production/metadata.json', 'etfs/SPY/staging/metadata.json'];
        const etags = async () => Promise.all(pointers.map(async (k) => (await store.head(k))?.etag));
        const before = await etags();
        const folder = await writeVersionFolder({ seed: 8 });
        stack.server.s3!.resetRequests();

        const runs = [
          await mg('promote', 'etfs/SPY', 'v1.0.0'),
          await mg('rollback', 'etfs/SPY'),
          await mg('traffic', 'etfs/SPY', '--shadow', 'on'),
          await mg('alias', 'etfs/SPY', 'champion', 'v1.0.0'),
          await mg('approve', 'etfs/SPY', 'v1.0.0'),
          await mg('asset', 'add', 'NEWT', '--kind', 'stock'),
          await mg('push', folder, '--model', 'etfs/SPY', '--version', 'v9'),
        ];
        for (const run of runs) {
          expect(run.code).toBe(1);
          expect(run.error.code).toBe('SERVER_UNAVAILABLE');
          expect(run.error.message).toMatch(/no local Modelgraph server is running .*server-url does not exist/);
          expect(run.error.message).toMatch(/never straight to the bucket/);
        }
        expect(writesUnder('etfs/SPY/')).toEqual([]);
        expect(writesUnder('metadata/asset_registry.json')).toEqual([]);
        expect(await etags()).toEqual(before);

        // A server-url left behind by a server that stopped: the same, with the URL that does not answer.
        await writeFile(join(bucketOnly, 'server-url'), 'http://127.0.0.1:9/graphql\n');
        const stale = await mg('promote', 'etfs/SPY', 'v1.0.0');
        expect(stale.code).toBe(1);
        expect(stale.error.code).toBe('SERVER_UNAVAILABLE');
        expect(stale.error.message).toMatch(/http:\/\/127\.0\.0\.1:9\/graphql .*does not answer/);
        expect(await etags()).toEqual(before);
        expect(writesUnder('etfs/SPY/')).toEqual([]);
      } finally {
        await rm(bucketOnly, { recursive: true, force: true });
      }
    });

    it("with no configuration the CLI uses the local server's server-url and its admin-token file", async () => {
      // A server without MODELGRAPH_WRITE_TOKEN generates admin's token into its data folder on first start.
      const own = await startTestStack({ env: { MODELGRAPH_WRITE_TOKEN: undefined, POINTER_TTL_SECONDS: '0' } });
      try {
        const run = await cli(['promote', 'etfs/SPY', 'v1.0.0', '--stage', 'staging', '--json'], {
          env: { MODELGRAPH_DATA_DIR: own.dataDir },
        });
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        expect(run.json).toMatchObject({ to: 'v1.0.0', by: 'admin' });
      } finally {
        await own.close();
      }
    });

    it('the local server writes server-url on start and removes it on close', async () => {
      const own = await startTestStack({ seed: false });
      const file = join(own.dataDir, 'server-url');
      const { readFile } = await import('node:fs/promises');
      expect((await readFile(file, 'utf8')).trim()).toBe(own.server.graphqlUrl);
      await own.server.close();
      await expect(readFile(file, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
      await rm(own.dataDir, { recursive: true, force: true });
    });
  });
});
