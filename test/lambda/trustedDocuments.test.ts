/**
 * TRUSTED_DOCUMENTS=enforce in the BUILT Lambda bundle: a fresh Node process
 * that sees only the bundle and the onnxruntime layer is invoked with API
 * Gateway HTTP API events (derived from test/lambda/events), against the
 * embedded S3 server seeded with the demo models. The manifest is inlined in
 * the bundle: nothing is read from the repository at run time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoBucket } from '../../src/local/demoSeed';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { parseTemplate, type JsonObject } from './support/cloudFormation';
import { startS3Fixture, TEST_BUCKET, type S3Fixture } from './support/s3Runtime';

const ROOT = join(import.meta.dirname, '../..');
const EVENTS = join(import.meta.dirname, 'events');
const template = parseTemplate(readFileSync(join(ROOT, 'template.yaml'), 'utf8'));
const fnProps = template.Resources.GraphQLFunction.Properties as JsonObject;
const layerProps = template.Resources.OnnxRuntimeLayer.Properties as JsonObject;
const [handlerModule, handlerExport] = String(fnProps.Handler).split('.');

const manifest = JSON.parse(
  readFileSync(join(ROOT, 'src/generated/client/persisted-documents.json'), 'utf8'),
) as Record<string, string>;
const idOf = (name: string) =>
  Object.entries(manifest).find(([, text]) => new RegExp(`^(query|mutation) ${name}\\b`, 'm').test(text))![0];

const anonymousPost = JSON.parse(readFileSync(join(EVENTS, 'http-api-predict.json'), 'utf8'));
const authorizedPost = JSON.parse(readFileSync(join(EVENTS, 'http-api-mutation-authorized.json'), 'utf8'));
const anonymousGet = JSON.parse(readFileSync(join(EVENTS, 'http-api-get-introspection.json'), 'utf8'));

/** An event like `base` with this JSON body (or, for GET, this query string). */
function event(base: Record<string, any>, body: unknown, rawQueryString?: string) {
  const e = structuredClone(base);
  if (rawQueryString !== undefined) e.rawQueryString = rawQueryString;
  else {
    e.body = JSON.stringify(body);
    e.headers['content-length'] = String(Buffer.byteLength(e.body));
  }
  return e;
}

const EVENTS_UNDER_TEST: Record<string, Record<string, unknown>> = {
  'document-id': event(anonymousPost, { documentId: idOf('AssetModel'), variables: { ticker: 'SPY' } }),
  'apq-hash': event(anonymousPost, {
    variables: { ticker: 'QQQ' },
    extensions: { persistedQuery: { version: 1, sha256Hash: idOf('AssetModel').slice('sha256:'.length) } },
  }),
  'get-document-id': event(
    anonymousGet,
    null,
    new URLSearchParams({ documentId: idOf('ModelTraffic'), variables: JSON.stringify({ id: 'etfs/SPY' }) }).toString(),
  ),
  'untrusted-anonymous': event(anonymousPost, { query: '{ about { version } }' }),
  'unknown-id': event(anonymousPost, { documentId: `sha256:${'0'.repeat(64)}` }),
  'untrusted-authorized': event(authorizedPost, { query: 'mutation { whoami { id canWrite } }' }),
};

let fx: S3Fixture;
let results: Map<string, { statusCode: number; body: string }>;

beforeAll(async () => {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build-lambda.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build:lambda failed:\n${build.stdout}\n${build.stderr}`);
  fx = await startS3Fixture();
  const seeder = fx.runtime();
  await seedDemoBucket(seeder.store, seeder.deployments);

  const sandbox = join(fx.dir, 'lambda');
  mkdirSync(join(sandbox, 'events'), { recursive: true });
  cpSync(join(ROOT, String(fnProps.CodeUri)), join(sandbox, 'task'), { recursive: true });
  cpSync(join(ROOT, String(layerProps.ContentUri)), join(sandbox, 'opt'), { recursive: true });
  cpSync(join(import.meta.dirname, 'support/invoke.mjs'), join(sandbox, 'invoke.mjs'));
  const files = Object.entries(EVENTS_UNDER_TEST).map(([name, e]) => {
    const file = join(sandbox, 'events', `${name}.json`);
    writeFileSync(file, JSON.stringify(e));
    return file;
  });
  const child = spawn(
    process.execPath,
    [join(sandbox, 'invoke.mjs'), join(sandbox, 'task', `${handlerModule}.mjs`), handlerExport!, ...files],
    {
      cwd: join(sandbox, 'task'),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: sandbox,
        NODE_PATH: join(sandbox, 'opt/nodejs/node_modules'),
        LAMBDA_TASK_ROOT: join(sandbox, 'task'),
        AWS_LAMBDA_FUNCTION_NAME: 'modelgraph-graphql',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
        NODE_ENV: 'production',
        MODEL_BUCKET: TEST_BUCKET,
        S3_ENDPOINT: fx.s3.endpoint,
        DISK_CACHE_DIR: join(sandbox, 'disk-cache'),
        TRUSTED_DOCUMENTS: 'enforce',
      },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    },
  );
  const chunks: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdio[3]!.on('data', (c: Buffer) => chunks.push(c));
  child.stderr!.on('data', (c: Buffer) => stderr.push(c));
  await new Promise((resolve) => child.on('close', resolve));
  const records = Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  results = new Map(records.filter((r) => r.kind === 'result').map((r) => [r.event, r.result]));
  if (results.size !== files.length)
    throw new Error(`${results.size} of ${files.length} events answered:\n${Buffer.concat(stderr).toString()}`);
}, 180_000);

afterAll(() => fx?.close());

function answer(name: string) {
  const r = results.get(name)!;
  return { status: r.statusCode, ...(JSON.parse(r.body) as { data?: any; errors?: any[] }) };
}

describe('the built Lambda handler under TRUSTED_DOCUMENTS=enforce', () => {
  it('runs trusted documents by documentId (POST and GET) and by Apollo’s persistedQuery hash', () => {
    expect(answer('document-id')).toMatchObject({ status: 200, data: { asset: { ticker: 'SPY' } } });
    expect(answer('apq-hash')).toMatchObject({ status: 200, data: { asset: { ticker: 'QQQ' } } });
    expect(answer('get-document-id')).toMatchObject({ status: 200, data: { model: { id: 'etfs/SPY' } } });
  });

  it('refuses an anonymous query that is not a trusted document, and an unknown id, with typed errors', () => {
    const refused = answer('untrusted-anonymous');
    expect(refused.status).toBe(403);
    expect(refused.data).toBeUndefined();
    expect(refused.errors?.[0]?.extensions?.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
    const unknown = answer('unknown-id');
    expect(unknown.status).toBe(400);
    expect(unknown.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('exempts the JWT-authorized route: its caller runs any query', () => {
    expect(answer('untrusted-authorized')).toMatchObject({
      status: 200,
      data: { whoami: { id: 'ml-engineer-42', canWrite: true } },
    });
  });
});
