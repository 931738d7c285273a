import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvers } from '../../resolvers';
import { callerFromJwtClaims } from '../../src/graphql/auth';
import { createContext } from '../../src/graphql/context';
import { embeddedS3ClientConfig } from '../../src/local/s3/embeddedS3';
import { startTestStack, type TestStack } from '../support/stack';
import { cli, FEATURES, LABELS, smallModel, writeVersionFolder } from './support';

const MUTATIONS: Record<string, string> = {
  promote: `mutation { promote(model: "etfs/SPY", version: "v1.0.0", reason: "x") { id } }`,
  rollback: `mutation { rollback(model: "etfs/SPY") { id } }`,
  registerAsset: `mutation { registerAsset(ticker: "XLE", kind: ETF, name: "Energy") { ticker } }`,
  registerVersion: `mutation { registerVersion(model: "etfs/SMH", version: "v-up") { version } }`,
};

describe('write permission and hostile identifiers', () => {
  let stack: TestStack;
  let s3client: S3Client;

  /** Every key of the bucket with its ETag. */
  async function bucketSnapshot(): Promise<Array<[string, string]>> {
    const store = stack.server.runtime.store;
    const keys = (await store.listKeys('')).sort();
    return Promise.all(keys.map(async (k): Promise<[string, string]> => [k, (await store.head(k))!.etag]));
  }
  const writes = () => stack.server.s3!.requests().filter((r) => ['PUT', 'POST', 'DELETE'].includes(r.method));

  beforeAll(async () => {
    stack = await startTestStack();
    // A version another tool uploaded and nobody registered yet.
    s3client = new S3Client(embeddedS3ClientConfig(stack.server.s3!.endpoint));
    const put = (file: string, body: Buffer | string) =>
      s3client.send(
        new PutObjectCommand({ Bucket: stack.server.runtime.bucket, Key: `etfs/SMH/archive/v-up/${file}`, Body: body }),
      );
    await put('model.onnx', Buffer.from(smallModel()));
    await put('feature_names.json', JSON.stringify(FEATURES));
    await put('metadata.json', JSON.stringify({ strategies: LABELS }));
  });
  afterAll(async () => {
    s3client?.destroy();
    await stack?.close();
  });

  describe.each([
    ['no token', null],
    ['a wrong token', 'not-the-write-token-0123456789'],
  ])('with %s', (_label, token) => {
    it.each(Object.keys(MUTATIONS))('%s answers UNAUTHENTICATED and changes nothing in the bucket', async (name) => {
      // Prepare
      const before = await bucketSnapshot();
      stack.server.s3!.resetRequests();

      // Act
      const res = await stack.gql(MUTATIONS[name], undefined, { token });

      // Assess
      expect(res.data).toBeNull();
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      expect(writes()).toEqual([]);
      expect(await bucketSnapshot()).toEqual(before);
    });
  });

  it.each(Object.keys(MUTATIONS))(
    '%s answers FORBIDDEN to an authenticated caller without the write scope, and changes nothing',
    async (name) => {
      // Prepare: a Lambda caller whose JWT lacks models:write, through the real resolvers and runtime.
      const caller = callerFromJwtClaims(
        { sub: 'dashboard', scope: 'models:read' },
        { principalClaim: 'sub', writeScope: 'models:write', approveScope: 'models:approve' },
      );
      const ctx = createContext(stack.server.runtime, caller);
      const args: Record<string, Record<string, unknown>> = {
        promote: { model: 'etfs/SPY', version: 'v1.0.0', stage: 'PRODUCTION' },
        rollback: { model: 'etfs/SPY', stage: 'PRODUCTION' },
        registerAsset: { ticker: 'XLE', kind: 'ETF' },
        registerVersion: { model: 'etfs/SMH', version: 'v-up' },
      };
      const before = await bucketSnapshot();
      stack.server.s3!.resetRequests();

      // Act
      const resolver = (resolvers.Mutation as Record<string, (...a: unknown[]) => Promise<unknown>>)[name];
      const outcome = await resolver({}, args[name], ctx, {}).then(
        () => 'resolved',
        (e: { code?: string }) => e.code,
      );

      // Assess
      expect(outcome).toBe('FORBIDDEN');
      expect(stack.server.s3!.requests()).toEqual([]);
      expect(await bucketSnapshot()).toEqual(before);
    },
  );

  it('the write token itself works (the refusals above are about permission, not broken mutations)', async () => {
    const res = await stack.gqlAsWriter(MUTATIONS.registerVersion);
    expect(res.errors).toBeUndefined();
    expect(res.data!.registerVersion.version).toBe('v-up');
  });

  describe('hostile identifiers', () => {
    const HOSTILE = [
      '../x',
      'etfs/SPY/../../metadata',
      'etfs/spy',
      'a'.repeat(500),
      'v1\u0000',
      'v1/../../x',
      '..',
      'etfs/SPY/',
      '/etfs/SPY',
      'etfs/SPY\n',
      '%2e%2e/x',
      'etfs/ＳＰＹ',
      '',
    ];
    const OPERATIONS: Array<[string, string]> = [
      ['promote(model)', `mutation($h: ID!) { promote(model: $h, version: "v1.0.0") { id } }`],
      ['promote(version)', `mutation($h: String!) { promote(model: "etfs/SPY", version: $h) { id } }`],
      ['rollback(model)', `mutation($h: ID!) { rollback(model: $h) { id } }`],
      ['rollback(to)', `mutation($h: String!) { rollback(model: "etfs/SPY", to: $h) { id } }`],
      ['registerVersion(model)', `mutation($h: ID!) { registerVersion(model: $h, version: "v1") { version } }`],
      [
        'registerVersion(version)',
        `mutation($h: String!) { registerVersion(model: "etfs/SPY", version: $h) { version } }`,
      ],
      ['registerAsset(ticker)', `mutation($h: String!) { registerAsset(ticker: $h, kind: ETF) { ticker } }`],
      [
        'registerAsset(usesModel)',
        `mutation($h: ID!) { registerAsset(ticker: "NEWCO", kind: STOCK, usesModel: $h) { ticker } }`,
      ],
      ['model(id)', `query($h: ID!) { model(id: $h) { id } }`],
      ['deployments(model)', `query($h: ID!) { deployments(model: $h) { id } }`],
      ['predict(ticker)', `query($h: String!) { predict(ticker: $h, features: { iv_rank: 1 }) { strategy } }`],
      ['asset(ticker)', `query($h: String!) { asset(ticker: $h) { ticker } }`],
    ];

    it.each(OPERATIONS)(
      '%s answers BAD_USER_INPUT for every hostile value, and no S3 request is made',
      async (_name, query) => {
        // Prepare
        const s3 = stack.server.s3!;
        s3.resetRequests();

        // Act
        const answers = await Promise.all(HOSTILE.map((h) => stack.gqlAsWriter(query, { h })));

        // Assess
        answers.forEach((res, i) => {
          expect(
            res.errors?.map((e) => e.extensions?.code),
            JSON.stringify(HOSTILE[i]),
          ).toEqual(['BAD_USER_INPUT']);
          // A nullable field answers { field: null }, a non-null one data: null.
          expect(Object.values(res.data ?? {}).every((v) => v === null)).toBe(true);
        });
        expect(s3.requests()).toEqual([]);
      },
    );

    it('the CLI refuses them before connecting to the bucket', async () => {
      // Prepare
      const s3 = stack.server.s3!;
      const folder = await writeVersionFolder();
      const endpoint = ['--endpoint', s3.endpoint, '--json'];
      s3.resetRequests();

      // Act
      const runs = [];
      for (const h of HOSTILE.filter(Boolean)) {
        runs.push(
          await cli(['push', folder, '--model', h, '--version', 'v9', ...endpoint]),
          await cli(['push', folder, '--model', 'etfs/SMH', '--version', h, ...endpoint]),
          await cli(['promote', h, 'v1.0.0', ...endpoint]),
          await cli(['promote', 'etfs/SPY', h, ...endpoint]),
          await cli(['rollback', 'etfs/SPY', '--to', h, ...endpoint]),
          await cli(['register', 'etfs/SPY', h, ...endpoint]),
          await cli(['asset', 'add', h, '--kind', 'stock', ...endpoint]),
          await cli(['asset', 'add', 'NEWCO', '--kind', 'stock', '--uses-model', h, ...endpoint]),
          await cli(['ls', h, ...endpoint]),
        );
      }

      // Assess
      for (const run of runs) {
        expect(run.code).toBe(2);
        expect(run.error.code).toBe('BAD_USER_INPUT');
      }
      expect(s3.requests()).toEqual([]);
    });
  });
});
