/**
 * The released client as a frontend team gets it: `npm run build:client`,
 * `npm pack`, installed from the tarball into a scratch project outside the
 * repository (its dependencies from the npm registry), typechecked there with
 * TypeScript (NodeNext resolution, library declarations checked), compiled and
 * run against a local server started here, under TRUSTED_DOCUMENTS=enforce.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';

const ROOT = join(import.meta.dirname, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const scratch = mkdtempSync(join(tmpdir(), 'modelgraph-client-consumer-'));
let stack: TestStack;

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

/** Like run, without blocking this process: the local server under test answers from it. */
function runAsync(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

const CONSUMER = `import {
  AssetModelDocument,
  cacheConfig,
  documentIdOf,
  type AssetModelQuery,
  type AssetModelQueryVariables,
  type Stage,
} from '@modelgraph/client';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type ResultOf<T> = T extends TypedDocumentNode<infer R, any> ? R : never;
type VariablesOf<T> = T extends TypedDocumentNode<any, infer V> ? V : never;

const variables: VariablesOf<typeof AssetModelDocument> = { ticker: 'SPY' };
// @ts-expect-error ticker is a String!: the variables are typed, not any.
const wrong: AssetModelQueryVariables = { ticker: 42 };
const stage: Stage = 'PRODUCTION';

const url = process.argv[2]!;
const res = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ documentId: documentIdOf(AssetModelDocument), variables }),
});
const body = (await res.json()) as { data?: ResultOf<typeof AssetModelDocument>; errors?: unknown[] };
const asset: AssetModelQuery['asset'] = body.data!.asset;
// @ts-expect-error the result is typed: Asset has no field "price".
void asset?.price;
const sdl = readFileSync(fileURLToPath(import.meta.resolve('@modelgraph/client/schema.graphql')), 'utf8');
const introspection = JSON.parse(
  readFileSync(fileURLToPath(import.meta.resolve('@modelgraph/client/introspection.json')), 'utf8'),
);
console.log(
  JSON.stringify({
    status: res.status,
    errors: body.errors ?? null,
    ticker: asset?.ticker,
    model: asset?.model.id,
    featureNames: asset?.model.production?.featureNames.length,
    stage,
    wrong: typeof wrong,
    nodeTypes: cacheConfig.possibleTypes.Node,
    sdlHasNode: sdl.includes('interface Node'),
    introspectionQueryType: introspection.__schema.queryType.name,
  }),
);
`;

beforeAll(async () => {
  stack = await startTestStack({ env: { TRUSTED_DOCUMENTS: 'enforce' } });
}, 120_000);
afterAll(async () => {
  await stack?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the packed client outside the repository', () => {
  it('builds, packs, installs, typechecks and runs a query against the local server', async () => {
    // Prepare: build and pack.
    const built = run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build-client.ts')], ROOT);
    expect(built.code, built.out).toBe(0);
    const packed = run('npm', ['pack', join(ROOT, 'dist/client'), '--pack-destination', scratch], scratch);
    expect(packed.code, packed.out).toBe(0);
    const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'))!;
    expect(tarball).toMatch(/^modelgraph-client-\d+\.\d+\.\d+\.tgz$/);

    // A consumer project: the tarball and graphql, nothing from the repository.
    const project = join(scratch, 'consumer');
    spawnSync('mkdir', ['-p', join(project, 'src')]);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { graphql: '^16.9.0' } }),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM'],
          types: [],
          strict: true,
          skipLibCheck: false,
          rootDir: 'src',
          outDir: 'out',
        },
        include: ['src'],
      }),
    );
    writeFileSync(join(project, 'src/query.ts'), CONSUMER);
    writeFileSync(join(project, 'src/node.d.ts'), NODE_SHIMS);
    const installed = run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', join(scratch, tarball)],
      project,
    );
    expect(installed.code, installed.out).toBe(0);

    // Act: typecheck and compile with the repository's TypeScript, run with node.
    const checked = run(process.execPath, [TSC, '-p', project], project);
    expect(checked.code, checked.out).toBe(0);
    const ran = await runAsync(process.execPath, [join(project, 'out/query.js'), stack.server.graphqlUrl], project);

    // Assess
    expect(ran.code, ran.out).toBe(0);
    const answer = JSON.parse(ran.out.trim().split('\n')[0]!);
    expect(answer).toEqual({
      status: 200,
      errors: null,
      ticker: 'SPY',
      model: 'etfs/SPY',
      featureNames: expect.any(Number),
      stage: 'PRODUCTION',
      wrong: 'object',
      nodeTypes: ['Alias', 'Approval', 'Asset', 'Deployment', 'Model', 'PromotionPolicy', 'Version'],
      sdlHasNode: true,
      introspectionQueryType: 'Query',
    });
    expect(answer.featureNames).toBeGreaterThan(0);
  }, 240_000);
});

/** The two Node APIs the consumer uses, declared here so the scratch project needs no @types/node. */
const NODE_SHIMS = `declare module 'node:fs' { export function readFileSync(path: string, encoding: 'utf8'): string; }
declare module 'node:url' { export function fileURLToPath(url: string): string; }
declare var process: { argv: string[] };
interface ImportMeta { resolve(specifier: string): string; }
`;
