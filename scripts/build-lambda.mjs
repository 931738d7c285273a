#!/usr/bin/env node
// Builds the AWS Lambda artifacts that template.yaml deploys:
//
//   dist/lambda/function/index.mjs        src/lambda.ts bundled with esbuild (ESM, node22, minified):
//                                         Apollo Server, the AWS SDK (ours, not Lambda's built-in
//                                         one), Powertools and the GraphQL SDL (inlined) — no file
//                                         is read at start-up. onnxruntime-node stays EXTERNAL.
//   dist/lambda/function/Makefile         lets `sam build` copy the prebuilt files (BuildMethod: makefile)
//   dist/lambda/layer/nodejs/node_modules/onnxruntime-node (+ onnxruntime-common)
//                                         the Lambda layer, pruned to one platform: linux/x64 (default)
//                                         or linux/arm64; no other platforms, docs, maps or typings.
//   dist/lambda/sourcemap/index.mjs.map   the bundle's source map, kept OUT of the deployed function
//   dist/lambda/sizes.json                unzipped sizes of function, layer and both
//
//   node scripts/build-lambda.mjs                 linux/x64 (template.yaml Architecture=x86_64)
//   node scripts/build-lambda.mjs --arch arm64    linux/arm64 (Architecture=arm64)
//   … --variant schema-at-startup,sdk-reads       a what-if build (VARIANTS below; env MODELGRAPH_BUILD_VARIANT)
//   … --out DIR                                   write DIR instead of dist/lambda (what-if builds do)
//   … --metafile FILE                             also write esbuild's metafile of index.mjs and its chunks to FILE
//                                                 (what each output holds: esbuild's analyzer or `npx esbuild --analyze`)
//
// The build goes to a scratch directory that is swapped in at the end, so a
// concurrent reader never sees half an artifact.

import { build } from 'esbuild';
import { buildASTSchema, parse } from 'graphql';
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

/** Lambda's hard limit: function + all layers, unzipped. */
const LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024;
const TARGET_BYTES = 80 * 1024 * 1024;
const ORT_PACKAGES = ['onnxruntime-node', 'onnxruntime-common'];

function parseArch(argv) {
  const i = argv.indexOf('--arch');
  const raw = i >= 0 ? argv[i + 1] : (process.env.LAMBDA_ARCH ?? 'x64');
  const arch = { x64: 'x64', x86_64: 'x64', amd64: 'x64', arm64: 'arm64', aarch64: 'arm64' }[raw];
  if (!arch) {
    console.error(`build-lambda: unknown --arch "${raw}" (use x64 or arm64)`);
    process.exit(2);
  }
  return arch;
}

/**
 * What-if builds: each variant is the alternative to one cold-start lever that
 * ships, so `npm run bench` (bench/lib/variantBuild.ts) measures every lever A/B
 * in one run. A variant only changes `define`s the sources read; it never
 * patches source text. The default build (no variant) is what deploys.
 */
const VARIANTS = {
  'sdk-reads': {
    description:
      'S3 reads through the SDK client, imported with the function (ships: SigV4-signed node:http reads, SDK on first write)',
    define: { __MODELGRAPH_S3_READ_PATH__: JSON.stringify('sdk') },
  },
  'schema-at-startup': {
    description:
      'Apollo builds the schema from the SDL text at start-up (ships: the document parsed and validated at build time, resolvers attached in place)',
    define: { __MODELGRAPH_SCHEMA_BY_APOLLO__: 'true' },
  },
  'apollo-inline-trace': {
    description:
      "Apollo's default inline-trace plugin installed, which imports the usage-reporting protobuf at start-up (ships: disabled; it only acts for a federated subgraph)",
    define: { __MODELGRAPH_APOLLO_INLINE_TRACE__: 'true' },
  },
  'disk-write-after-download': {
    description:
      'the disk-cache write starts when the bytes are in (fs.promises.writeFile) and finishes after session creation (ships: temp file opened during the GET, one write that overlaps session creation)',
    define: { __MODELGRAPH_DISK_WRITE_AFTER_DOWNLOAD__: 'true' },
  },
};

/**
 * The schema the bundle carries: its document parsed and validated here, as JSON (or, with
 * `schema-at-startup`, the SDL text). An invalid schema fails the build, not the cold start.
 */
function schemaDefines(variants) {
  const sdl = readSdl();
  if (variants.includes('schema-at-startup')) return { __MODELGRAPH_SDL__: JSON.stringify(sdl) };
  const document = parse(sdl, { noLocation: true });
  buildASTSchema(document);
  const ast = JSON.stringify(document);
  return { __MODELGRAPH_SCHEMA_AST__: JSON.stringify(ast) };
}

function parseVariants(argv) {
  const i = argv.indexOf('--variant');
  const raw = i >= 0 ? argv[i + 1] : (process.env.MODELGRAPH_BUILD_VARIANT ?? '');
  if (argv.includes('--list-variants')) {
    const list = Object.entries(VARIANTS).map(([name, v]) => ({ name, description: v.description }));
    process.stdout.write(`${JSON.stringify(list)}\n`);
    process.exit(0);
  }
  const names = raw
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  const unknown = names.find((n) => !Object.hasOwn(VARIANTS, n));
  if (unknown) {
    console.error(`build-lambda: unknown --variant "${unknown}" (known: ${Object.keys(VARIANTS).join(', ')})`);
    process.exit(2);
  }
  return names;
}

function parseMetafile(argv) {
  const i = argv.indexOf('--metafile');
  return i >= 0 ? resolve(argv[i + 1]) : undefined;
}

function parseOut(argv) {
  const i = argv.indexOf('--out');
  return i >= 0 ? resolve(argv[i + 1]) : join(root, 'dist/lambda');
}

/** schema/*.graphql in file-name order: the same text loadTypeDefs() reads from disk. */
function readSdl() {
  const dir = join(root, 'schema');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

function dirBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

/**
 * onnxruntime-node is a native addon: it cannot be bundled and must match the
 * Lambda architecture. It comes from the layer at run time (/opt/nodejs/node_modules).
 * Node's ESM resolver ignores NODE_PATH, so the bundle loads it with a CommonJS
 * require (createRequire, see the banner), which honours NODE_PATH like Lambda's
 * own module lookup — and still only when the first model is loaded.
 */
const onnxruntimeFromLayer = {
  name: 'onnxruntime-from-layer',
  setup(b) {
    b.onResolve({ filter: /^onnxruntime-node$/ }, (args) =>
      args.kind === 'require-call'
        ? { path: 'onnxruntime-node', external: true }
        : { path: 'onnxruntime-node', namespace: 'ort-layer' },
    );
    b.onLoad({ filter: /.*/, namespace: 'ort-layer' }, () => ({
      contents: "module.exports = require('onnxruntime-node');",
      loader: 'js',
    }));
  },
};

/**
 * One copy of dual packages. @as-integrations/aws-lambda is CommonJS: its
 * require('@apollo/server') would pull Apollo's CJS build (and with it graphql's
 * .js files and a second usage-reporting protobuf) next to the ESM build our
 * code imports — two graphql instances, ~0.5 MB more to compile at every cold
 * start. Requires of these packages resolve to their ESM entry instead.
 */
const DEDUPED_PACKAGES = /^(@apollo\/server|@apollo\/usage-reporting-protobuf|graphql)(\/.*)?$/;
const oneCopyOfDualPackages = {
  name: 'one-copy-of-dual-packages',
  setup(b) {
    b.onResolve({ filter: DEDUPED_PACKAGES }, (args) => {
      if (args.kind !== 'require-call' || args.pluginData?.deduped) return undefined;
      return b.resolve(args.path, {
        kind: 'import-statement',
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: { deduped: true },
      });
    });
  },
};

/**
 * Node 22's ESM facade of node:http (and of node:https, node:http2) reads every export
 * of the module when it is first imported, and one of them is a lazy getter that
 * compiles undici (with node:http2): ≈ 15–45 ms that a CommonJS require of the same
 * module never pays. Our own code requires node:http (src/storage/s3Reads.ts); the
 * bundled dependencies (the SDK's node-http-handler, its credential providers) and
 * src/storage/s3Client.ts import them, so their imports become requires too (through
 * the banner's `require`): the first write or listing (which loads the SDK client) and
 * any start without static credentials (which reads through it) no longer compile
 * undici — import of the handler without credentials: 227 → 209 ms CPU, 251 → 229 ms
 * wall (p50 of 30, interleaved, loaded 2-core machine, 2026-12-04). Only these three:
 * every builtin by require was measured too and is no faster than imports (227 ms).
 * The catch-up and evaluation functions read and write through SDK clients: theirs too.
 */
const httpBuiltinsByRequire = {
  name: 'http-builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?(http|https|http2)$/ }, (args) =>
      args.kind === 'import-statement' || args.kind === 'dynamic-import'
        ? { path: args.path.replace(/^node:/, ''), namespace: 'builtin-by-require' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin-by-require' }, (args) => ({
      contents: `module.exports = require('node:${args.path}');`,
      loader: 'js',
    }));
  },
};

/** A package's folder as Node resolves it from onnxruntime-node (works without a `./package.json` export). */
function packageDir(name) {
  const ortRequire = createRequire(require.resolve('onnxruntime-node'));
  let dir = dirname(ortRequire.resolve(name));
  while (
    !existsSync(join(dir, 'package.json')) ||
    JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name !== name
  ) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of ${name}`);
    dir = up;
  }
  return dir;
}

function prunedOnnxRuntimeLayer(layerModules, arch) {
  // Typings, TypeScript sources, source maps and docs are not needed at run time.
  const keep = (file) => !/\.(map|ts|mts|cts|md)$/.test(file);
  for (const pkg of ORT_PACKAGES) {
    const src = packageDir(pkg);
    const dest = join(layerModules, pkg);
    mkdirSync(dest, { recursive: true });
    cpSync(join(src, 'package.json'), join(dest, 'package.json'));
    cpSync(join(src, 'dist'), join(dest, 'dist'), {
      recursive: true,
      filter: (from) => statSync(from).isDirectory() || keep(from),
    });
    if (pkg === 'onnxruntime-node') {
      const binaries = join(src, 'bin');
      for (const napi of readdirSync(binaries).filter((d) => d.startsWith('napi-v'))) {
        const platformDir = join(binaries, napi, 'linux', arch);
        if (!existsSync(platformDir)) continue;
        // CUDA / TensorRT execution providers are not used (CPU only on Lambda).
        cpSync(platformDir, join(dest, 'bin', napi, 'linux', arch), {
          recursive: true,
          filter: (from) => !/providers_(cuda|tensorrt)|libcudnn|libcublas/i.test(from),
        });
      }
      const binding = readdirSync(join(dest, 'bin')).flatMap((napi) =>
        readdirSync(join(dest, 'bin', napi, 'linux', arch)),
      );
      if (!binding.includes('onnxruntime_binding.node'))
        throw new Error(`onnxruntime-node ships no linux/${arch} binary`);
    }
  }
}

/** A real `require` for the ESM bundles (CommonJS dependencies and the builtins made requires above). */
const REQUIRE_BANNER =
  "import { createRequire as __mgCreateRequire } from 'node:module'; const require = __mgCreateRequire(import.meta.url);";

/**
 * A scheduled function's entry as one file beside index.mjs (no chunks), with the API bundle's
 * options; `onnxruntime-node` only from the layer, and never Apollo Server or graphql-js in it.
 */
async function buildSingleFileFunction(entry, file, plugins, what) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, entry)],
    outfile: join(functionDir, file),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: 'external',
    legalComments: 'none',
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    plugins,
    metafile: true,
    logLevel: 'warning',
  });
  const extras = Object.keys(result.metafile.inputs).filter((f) =>
    /node_modules\/(onnxruntime-|@apollo\/server|graphql\/)/.test(f),
  );
  if (extras.length) throw new Error(`the ${what} bundle must not contain ${extras[0]}`);
}

const arch = parseArch(process.argv.slice(2));
const variants = parseVariants(process.argv.slice(2));
const outDir = parseOut(process.argv.slice(2));
const metafileOut = parseMetafile(process.argv.slice(2));
const variantDefines = Object.assign({}, ...variants.map((v) => VARIANTS[v].define));
const started = performance.now();
const tmpDir = join(dirname(outDir), `.lambda-build-${process.pid}`);
rmSync(tmpDir, { recursive: true, force: true });
const functionDir = join(tmpDir, 'function');
const layerModules = join(tmpDir, 'layer/nodejs/node_modules');
mkdirSync(functionDir, { recursive: true });
mkdirSync(layerModules, { recursive: true });

try {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, 'src/lambda.ts')],
    outdir: functionDir,
    entryNames: 'index',
    // Code behind dynamic imports (Apollo's usage reporting, the SDK's SSO/STS
    // credential providers, …) goes to chunks that are only compiled when used.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: 'external',
    legalComments: 'external',
    // Prefer packages' ESM builds (better tree shaking); CommonJS ones get a real `require`.
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    define: { ...schemaDefines(variants), ...variantDefines },
    plugins: [onnxruntimeFromLayer, oneCopyOfDualPackages, httpBuiltinsByRequire],
    metafile: true,
    logLevel: 'warning',
  });
  const bundledOrt = Object.keys(result.metafile.inputs).filter((f) => f.includes('node_modules/onnxruntime-'));
  if (bundledOrt.length) throw new Error(`onnxruntime must stay external, but the bundle contains ${bundledOrt[0]}`);
  if (metafileOut) writeFileSync(metafileOut, JSON.stringify(result.metafile));

  // The scheduled events catch-up (template.yaml EventsCatchUpFunction, handler catchup.handler):
  // the same sources, its own single file beside index.mjs — S3 and the event targets only,
  // no GraphQL and no onnxruntime, and nothing that changes what index.mjs loads.
  await buildSingleFileFunction('src/events/catchUpLambda.ts', 'catchup.mjs', [httpBuiltinsByRequire], 'catch-up');

  // Evaluation chunks and their reduce (template.yaml EvaluationFunction, handler evaluate.handler, invoked by
  // the EvaluationStateMachine's Distributed Map): its own single file beside index.mjs, onnxruntime from the
  // layer like the API, no GraphQL.
  await buildSingleFileFunction(
    'src/evaluation/evaluationLambda.ts',
    'evaluate.mjs',
    [onnxruntimeFromLayer, httpBuiltinsByRequire],
    'evaluation',
  );

  // The console (GET /console and /console/{proxy+} in template.yaml): the function serves
  // dist/console/ from beside index.mjs (src/console/serve.ts), hashed files with a one-year cache.
  execFileSync(process.execPath, [join(root, 'scripts/build-console.mjs')], { cwd: root, stdio: 'inherit' });
  cpSync(join(root, 'dist/console'), join(functionDir, 'console'), {
    recursive: true,
    filter: (from) => !from.endsWith('build-meta.json'),
  });

  // The source map is for decoding stack traces offline, not for the deployed function.
  for (const file of readdirSync(functionDir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.map'))) {
    mkdirSync(dirname(join(tmpDir, 'sourcemap', file)), { recursive: true });
    renameSync(join(functionDir, file), join(tmpDir, 'sourcemap', file));
  }

  prunedOnnxRuntimeLayer(layerModules, arch);

  // `sam build` (BuildMethod: makefile) copies these prebuilt artifacts instead of rebuilding them.
  const shipped = readdirSync(functionDir).sort();
  writeFileSync(
    join(functionDir, 'Makefile'),
    `# Written by scripts/build-lambda.mjs: \`sam build\` copies the prebuilt bundle (one folder, three functions).\nbuild-GraphQLFunction:\n\tcp -R ${shipped.join(' ')} "$(ARTIFACTS_DIR)/"\nbuild-EventsCatchUpFunction:\n\tcp -R ${shipped.join(' ')} "$(ARTIFACTS_DIR)/"\nbuild-EvaluationFunction:\n\tcp -R ${shipped.join(' ')} "$(ARTIFACTS_DIR)/"\n`,
  );
  writeFileSync(
    join(tmpDir, 'layer/Makefile'),
    '# Written by scripts/build-lambda.mjs: `sam build` copies the pruned onnxruntime-node layer.\nbuild-OnnxRuntimeLayer:\n\tmkdir -p "$(ARTIFACTS_DIR)"\n\tcp -R nodejs "$(ARTIFACTS_DIR)/"\n',
  );

  const functionBytes = dirBytes(functionDir) - statSync(join(functionDir, 'Makefile')).size;
  const layerBytes = dirBytes(join(tmpDir, 'layer/nodejs'));
  const totalBytes = functionBytes + layerBytes;
  const mb = (n) => Math.round((n / 1024 / 1024) * 100) / 100;
  const sizes = {
    builtAt: new Date().toISOString(),
    arch,
    variants,
    lambdaArchitecture: arch === 'x64' ? 'x86_64' : 'arm64',
    esbuild: require('esbuild/package.json').version,
    onnxruntimeNode: JSON.parse(readFileSync(join(packageDir('onnxruntime-node'), 'package.json'), 'utf8')).version,
    bundleBytes: statSync(join(functionDir, 'index.mjs')).size,
    functionBytes,
    layerBytes,
    totalBytes,
    functionMB: mb(functionBytes),
    layerMB: mb(layerBytes),
    totalMB: mb(totalBytes),
    targetMB: mb(TARGET_BYTES),
    lambdaLimitMB: mb(LAMBDA_UNZIPPED_LIMIT),
  };
  writeFileSync(join(tmpDir, 'sizes.json'), JSON.stringify(sizes, null, 2) + '\n');
  if (totalBytes > LAMBDA_UNZIPPED_LIMIT)
    throw new Error(`function + layer is ${sizes.totalMB} MB unzipped, over Lambda's 250 MB limit`);

  const oldDir = join(dirname(outDir), `.lambda-old-${process.pid}`);
  if (existsSync(outDir)) renameSync(outDir, oldDir);
  renameSync(tmpDir, outDir);
  rmSync(oldDir, { recursive: true, force: true });

  const ms = performance.now() - started;
  console.log(
    `build-lambda: built ${relative(root, outDir) || outDir} for linux/${arch}${variants.length ? ` (what-if variant ${variants.join(', ')}: not for deployment)` : ''} in ${(ms / 1000).toFixed(2)} s (unzipped sizes)`,
  );
  console.log(
    `  function  ${String(sizes.functionMB).padStart(7)} MB  ${relative(root, outDir) || outDir}/function (index.mjs ${mb(sizes.bundleBytes)} MB)`,
  );
  console.log(
    `  layer     ${String(sizes.layerMB).padStart(7)} MB  ${relative(root, outDir) || outDir}/layer (onnxruntime-node ${sizes.onnxruntimeNode}, linux/${arch})`,
  );
  console.log(
    `  total     ${String(sizes.totalMB).padStart(7)} MB  (target < ${sizes.targetMB} MB, Lambda limit ${sizes.lambdaLimitMB} MB)`,
  );
  if (totalBytes > TARGET_BYTES) console.warn(`build-lambda: warning: over the ${sizes.targetMB} MB target`);
} catch (err) {
  rmSync(tmpDir, { recursive: true, force: true });
  console.error(`build-lambda: build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
