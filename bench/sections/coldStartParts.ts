/**
 * Section 1b: what the cold start's biggest slices are made of, to say what a
 * change would give before anyone makes it.
 *
 *  - Module load: each heavy dependency of the Lambda bundle, bundled ALONE
 *    with the same esbuild options as scripts/build-lambda.mjs, imported by a
 *    fresh process (spawn → module evaluated), next to the real bundle.
 *  - Model fetch: the large model fetched by a fresh process with one GET then
 *    sha256, with sha256 streamed during the download, and with parallel
 *    ranged GETs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { BenchBucket } from '../lib/benchBucket';
import { bucketEnv } from '../lib/benchBucket';
import { cleanEnv, messageOf, runChild, writeSpec } from '../lib/child';
import { REPO_ROOT, type LambdaTarget } from '../lib/lambdaTarget';
import { mb, table } from '../lib/markdown';
import { ms, spread, summarize, type Summary } from '../lib/stats';

export interface ImportCost {
  name: string;
  /** What the goals look for: the empty module, the handler with init, or anything else. */
  kind: 'empty' | 'handler' | 'other';
  /** Bundle size in bytes (0 for the empty module). */
  bytes: number;
  /** spawn → module evaluated. */
  ms: Summary;
}

export interface FetchCost {
  name: string;
  /** Download only. */
  fetch: Summary;
  /** Download + sha256. */
  total: Summary;
}

export interface ColdStartParts {
  imports: ImportCost[];
  fetches: FetchCost[];
  fetchedBytes: number;
}

const LOADED =
  "process.stdout.write('@@MGBENCH ' + JSON.stringify({ kind: 'loaded', at: performance.now() }) + '\\n'); process.exit(0);";

/** Entries bundled alone; each constructs what the handler constructs at module scope. */
const ENTRIES: Array<{ name: string; code: string }> = [
  { name: 'empty module (Node start-up alone)', code: '' },
  {
    name: '@aws-sdk/client-s3 (S3Client constructed)',
    code: "import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3'; globalThis.k = [new S3Client({ region: 'us-east-1' }), GetObjectCommand];",
  },
  {
    name: '@smithy/signature-v4 + node:crypto sha256 (signer constructed)',
    code:
      "import { SignatureV4 } from '@smithy/signature-v4'; import { createHash, createHmac } from 'node:crypto';" +
      'class Sha256 { constructor(secret) { this.h = secret ? createHmac("sha256", secret) : createHash("sha256"); } update(d) { this.h.update(d); } async digest() { return this.h.digest(); } }' +
      "globalThis.k = new SignatureV4({ credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, region: 'us-east-1', service: 's3', sha256: Sha256 });",
  },
  {
    name: '@apollo/server + graphql (server constructed)',
    code: "import { ApolloServer } from '@apollo/server'; globalThis.k = new ApolloServer({ typeDefs: 'type Query { a: Int }', resolvers: {} });",
  },
  {
    name: '@aws-lambda-powertools logger + metrics',
    code:
      "import { Logger } from '@aws-lambda-powertools/logger'; import { Metrics } from '@aws-lambda-powertools/metrics';" +
      "globalThis.k = [new Logger({ serviceName: 'x' }), new Metrics({ namespace: 'x', serviceName: 'x' })];",
  },
  { name: 'zod', code: "import * as z from 'zod'; globalThis.k = z.object({ a: z.string() }).parse({ a: 'x' });" },
  {
    name: 'zod/mini',
    code: "import * as z from 'zod/mini'; globalThis.k = z.object({ a: z.string() }).parse({ a: 'x' });",
  },
];

async function bundle(dir: string, name: string, code: string): Promise<{ file: string; bytes: number }> {
  const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.mjs`);
  const result = await build({
    stdin: { contents: `${code}\n${LOADED}`, resolveDir: REPO_ROOT, loader: 'js' },
    absWorkingDir: REPO_ROOT,
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire as __mgCreateRequire } from 'node:module'; const require = __mgCreateRequire(import.meta.url);",
    },
    logLevel: 'silent',
    metafile: true,
  });
  const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
  return { file, bytes };
}

export async function runColdStartParts(
  bucket: BenchBucket,
  target: LambdaTarget,
  opts: { repetitions: number; log: (line: string) => void },
): Promise<ColdStartParts> {
  const dir = mkdtempSync(join(tmpdir(), 'modelgraph-bench-parts-'));
  try {
    type Entry = {
      name: string;
      kind: ImportCost['kind'];
      file: string;
      bytes: number;
      execArgv: string[];
      env?: Record<string, string>;
    };
    const files: Entry[] = [];
    for (const e of ENTRIES)
      files.push({
        name: e.name,
        kind: e.code ? 'other' : 'empty',
        ...(await bundle(dir, e.name, e.code)),
        execArgv: [],
      });
    // Lambda does not set NODE_EXTRA_CA_CERTS; when this machine does, say what it would cost rather than assume.
    const caBundle = process.env.NODE_EXTRA_CA_CERTS;
    if (caBundle)
      files.push({
        ...files[0],
        name: `empty module with this machine's NODE_EXTRA_CA_CERTS (${caBundle})`,
        kind: 'other',
        env: { NODE_EXTRA_CA_CERTS: caBundle },
      });
    const handlerImport = join(dir, 'handler-import.mjs');
    writeFileSync(handlerImport, `await import(${JSON.stringify(target.entryUrl)});\n${LOADED}\n`);
    const handlerName = `the Lambda handler (${target.kind === 'built' ? 'built bundle' : 'sources via tsx'})`;
    files.push({
      name: `${handlerName}, import only`,
      kind: 'handler',
      file: handlerImport,
      bytes: target.bundleBytes ?? 0,
      execArgv: target.execArgv,
    });
    // Without MODEL_BUCKET the module-scope start() stops at createRuntime (and logs why): what remains is
    // evaluating the bundle's modules, without building the runtime, the schema and the Apollo server.
    files.push({
      name: `${handlerName}, import only, MODEL_BUCKET unset (module evaluation, no init)`,
      kind: 'other',
      file: handlerImport,
      bytes: target.bundleBytes ?? 0,
      execArgv: target.execArgv,
    });
    const env = cleanEnv({
      ...bucketEnv(bucket),
      NODE_ENV: 'production',
      LOG_LEVEL: 'INFO',
      AWS_LAMBDA_FUNCTION_NAME: 'modelgraph-bench',
      DISK_CACHE_DIR: '',
      NODE_PATH: target.nodePath,
      ...target.env,
    });
    const samples = new Map<string, number[]>(files.map((f) => [f.name, []]));
    // Interleaved, so drift on the machine hits every entry alike.
    for (let r = 0; r < opts.repetitions; r++) {
      for (const f of files) {
        const childEnv = { ...env, ...f.env, ...(f.name.includes('MODEL_BUCKET unset') ? { MODEL_BUCKET: '' } : {}) };
        const run = await runChild({
          script: f.file,
          node: target.node,
          execArgv: f.execArgv,
          env: childEnv,
          cwd: target.cwd,
          timeoutMs: 60_000,
        });
        samples.get(f.name)!.push(messageOf(run, 'loaded', f.name).atMs);
      }
    }
    const imports = files.map((f) => ({
      name: f.name,
      kind: f.kind,
      bytes: f.bytes,
      ms: summarize(samples.get(f.name)!),
    }));
    for (const i of imports)
      opts.log(`module load: ${i.name}: ${i.ms.median.toFixed(0)} ms (${(i.bytes / 1e6).toFixed(2)} MB)`);

    const large = bucket.sizes.large.variants['model.onnx'];
    const url = `${bucket.endpoint}/${bucket.bucket}/${large.key}`;
    const modes: Array<{ name: string; mode: string; parts?: number }> = [
      { name: 'one GET, then sha256', mode: 'single' },
      { name: 'one GET, sha256 streamed during the download', mode: 'single-stream' },
      { name: '4 parallel ranged GETs, then sha256', mode: 'ranged', parts: 4 },
    ];
    const fetchSamples = new Map<string, { fetch: number[]; total: number[] }>(
      modes.map((m) => [m.name, { fetch: [], total: [] }]),
    );
    for (let r = 0; r < opts.repetitions; r++) {
      for (const m of modes) {
        const spec = writeSpec(dir, { url, size: large.storedBytes, mode: m.mode, parts: m.parts });
        const run = await runChild({
          script: join(REPO_ROOT, 'bench/children/fetchChild.mjs'),
          env: cleanEnv({ MGB_SPEC: spec }),
          cwd: dir,
          timeoutMs: 60_000,
        });
        const msg = messageOf(run, 'fetch', m.name);
        if (msg.digest !== large.sha256) throw new Error(`${m.name}: fetched bytes do not match the model's sha256`);
        fetchSamples.get(m.name)!.fetch.push(msg.fetchMs as number);
        fetchSamples.get(m.name)!.total.push(msg.totalMs as number);
      }
    }
    const fetches = modes.map((m) => ({
      name: m.name,
      fetch: summarize(fetchSamples.get(m.name)!.fetch),
      total: summarize(fetchSamples.get(m.name)!.total),
    }));
    for (const f of fetches)
      opts.log(
        `fetch ${(large.storedBytes / 1e6).toFixed(1)} MB: ${f.name}: ${f.fetch.median.toFixed(1)} ms download, ${f.total.median.toFixed(1)} ms with sha256`,
      );
    return { imports, fetches, fetchedBytes: large.storedBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Section 1b: what the module load and the model fetch are made of. */
export function renderColdStartParts(parts: ColdStartParts): string {
  const out: string[] = [];
  out.push('### What the module load and the model fetch are made of');
  out.push('');
  out.push(
    'Each heavy dependency of the Lambda bundle bundled alone with the options of scripts/build-lambda.mjs, imported by a fresh process (spawn → module evaluated, medians):',
  );
  out.push('');
  out.push(
    table(
      ['Module', 'Bundle', 'p50', 'p99', 'spread'],
      parts.imports.map((i) => [i.name, i.bytes ? mb(i.bytes) : '–', ms(i.ms.median), ms(i.ms.p99), spread(i.ms)]),
    ),
  );
  out.push('');
  out.push(
    `Fetching the large model (${mb(parts.fetchedBytes)}) from the embedded S3 server in a fresh process (plain node:http):`,
  );
  out.push('');
  out.push(
    table(
      ['Strategy', 'Download p50', 'Download + sha256 p50', 'p99', 'spread'],
      parts.fetches.map((f) => [f.name, ms(f.fetch.median), ms(f.total.median), ms(f.total.p99), spread(f.total)]),
    ),
  );
  out.push('');
  return out.join('\n');
}
