#!/usr/bin/env node
// Bundles the GraphiQL page (src/local/graphiql/app.tsx + graphiql/style.css)
// and the three Monaco web workers into dist/graphiql/ with esbuild, so the
// page served by the local server makes no request outside its own origin.
//
//   node scripts/build-graphiql.mjs            build if an input is newer than the output
//   node scripts/build-graphiql.mjs --force    always rebuild
//   node scripts/build-graphiql.mjs --sourcemap  also emit linked source maps
//
// Output (dist/graphiql/):
//   index.html                 template with the %MODELGRAPH_*% placeholders (filled by serve.ts)
//   app.js, app.css            entry (ESM) + all CSS (fonts are data: URLs inside graphiql's CSS)
//   chunks/*-[hash].js         lazily loaded code (Monaco, languages, prettier) — immutable
//   assets/*-[hash].*          any file referenced by CSS/JS — immutable
//   editor.worker.js, json.worker.js, graphql.worker.js   classic (IIFE) workers
//   build-meta.json            written last; its mtime is the "built at" stamp

import { build } from 'esbuild';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  copyFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src/local/graphiql');
const outDir = join(root, 'dist/graphiql');
const stampFile = join(outDir, 'build-meta.json');
const args = new Set(process.argv.slice(2));
const force = args.has('--force');
const sourcemap = args.has('--sourcemap');
const require = createRequire(join(root, 'package.json'));

/** Files whose change must trigger a rebuild. */
function inputFiles() {
  // package-lock.json and the installed packages' package.json cover dependency changes.
  const files = [fileURLToPath(import.meta.url), join(root, 'package-lock.json')];
  for (const name of readdirSync(srcDir)) {
    // serve.ts is server code, not part of the bundle.
    if (name === 'serve.ts') continue;
    if (/\.(tsx?|css|html)$/.test(name)) files.push(join(srcDir, name));
  }
  for (const pkg of [
    'graphiql',
    '@graphiql/react',
    '@graphiql/toolkit',
    'monaco-editor',
    'monaco-graphql',
    'react',
    'react-dom',
    'esbuild',
  ]) {
    try {
      files.push(require.resolve(`${pkg}/package.json`));
    } catch {
      // not resolvable via exports; the lock file still covers version changes
    }
  }
  return files.filter((f) => existsSync(f));
}

const EXPECTED = ['index.html', 'app.js', 'app.css', 'editor.worker.js', 'json.worker.js', 'graphql.worker.js'];

function upToDate() {
  if (!EXPECTED.every((f) => existsSync(join(outDir, f)))) return false;
  let startedAtMs;
  try {
    // The time the last build STARTED: an input saved while it ran is newer.
    startedAtMs = JSON.parse(readFileSync(stampFile, 'utf8')).startedAtMs;
  } catch {
    return false;
  }
  if (typeof startedAtMs !== 'number') return false;
  return inputFiles().every((f) => statSync(f).mtimeMs < startedAtMs);
}

if (!force && upToDate()) {
  console.log(`graphiql: dist/graphiql is up to date (use --force to rebuild)`);
  process.exit(0);
}

const started = performance.now();
const startedAtMs = Date.now();
// Build into a scratch directory and swap it in at the end, so a running
// server never serves a half-written bundle.
const tmpDir = join(root, 'dist', `.graphiql-build-${process.pid}`);
rmSync(tmpDir, { recursive: true, force: true });
mkdirSync(tmpDir, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  sourcemap: sourcemap ? 'linked' : false,
  legalComments: 'linked',
  target: ['es2022', 'chrome111', 'firefox115', 'safari16.4'],
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
  metafile: true,
  absWorkingDir: root,
  loader: {
    '.ttf': 'file',
    '.woff': 'file',
    '.woff2': 'file',
    '.eot': 'file',
    '.svg': 'file',
    '.png': 'file',
    '.gif': 'file',
  },
};

// graphiql/style.css already contains Monaco's CSS (and the codicon font as a
// data: URL). Monaco's ESM modules also `import './x.css'` each piece; drop
// those so the rules are not shipped twice.
const dropMonacoCss = {
  name: 'drop-monaco-css',
  setup(b) {
    b.onResolve({ filter: /\.css$/ }, (a) => {
      if (/[\\/]node_modules[\\/]monaco-editor[\\/]/.test(a.importer)) {
        return { path: a.path, namespace: 'monaco-css-dropped' };
      }
      return undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'monaco-css-dropped' }, () => ({ contents: '', loader: 'empty' }));
  },
};

try {
  const [app, workers] = await Promise.all([
    build({
      ...common,
      // app.tsx -> app.js; GraphiQL's documented stylesheet -> app.css.
      entryPoints: [
        { in: join(srcDir, 'app.tsx'), out: 'app' },
        { in: 'graphiql/style.css', out: 'app' },
      ],
      outdir: tmpDir,
      format: 'esm',
      splitting: true,
      platform: 'browser',
      jsx: 'automatic',
      entryNames: '[name]',
      chunkNames: 'chunks/[name]-[hash]',
      assetNames: 'assets/[name]-[hash]',
      plugins: [dropMonacoCss],
    }),
    build({
      ...common,
      entryPoints: {
        'editor.worker': 'monaco-editor/esm/vs/editor/editor.worker.js',
        'json.worker': 'monaco-editor/esm/vs/language/json/json.worker.js',
        'graphql.worker': 'monaco-graphql/esm/graphql.worker.js',
      },
      outdir: tmpDir,
      format: 'iife',
      platform: 'browser',
      entryNames: '[name]',
      assetNames: 'assets/[name]-[hash]',
      plugins: [dropMonacoCss],
    }),
  ]);

  copyFileSync(join(srcDir, 'index.html'), join(tmpDir, 'index.html'));
  for (const f of EXPECTED) {
    if (!existsSync(join(tmpDir, f))) throw new Error(`expected output ${f} was not produced`);
  }

  const outputs = {};
  for (const meta of [app.metafile, workers.metafile]) {
    for (const [file, info] of Object.entries(meta.outputs)) {
      outputs[relative(tmpDir, resolve(root, file)).split('\\').join('/')] = info.bytes;
    }
  }
  outputs['index.html'] = statSync(join(tmpDir, 'index.html')).size;
  writeFileSync(
    join(tmpDir, 'build-meta.json'),
    JSON.stringify(
      { builtAt: new Date().toISOString(), startedAtMs, esbuild: require('esbuild/package.json').version, outputs },
      null,
      2,
    ) + '\n',
  );

  // Swap the new bundle in.
  const oldDir = join(root, 'dist', `.graphiql-old-${process.pid}`);
  try {
    if (existsSync(outDir)) renameSync(outDir, oldDir);
    renameSync(tmpDir, outDir);
  } catch (err) {
    // Another build swapped its (equivalent) output in at the same moment.
    if (!existsSync(join(outDir, 'build-meta.json'))) throw err;
    rmSync(tmpDir, { recursive: true, force: true });
  }
  rmSync(oldDir, { recursive: true, force: true });

  const ms = performance.now() - started;
  const kb = (n) => `${(n / 1024).toFixed(1).padStart(8)} KiB`;
  const main = ['index.html', 'app.js', 'app.css', 'editor.worker.js', 'json.worker.js', 'graphql.worker.js'];
  const chunks = Object.entries(outputs).filter(([f]) => f.startsWith('chunks/') && f.endsWith('.js'));
  const assets = Object.entries(outputs).filter(([f]) => f.startsWith('assets/'));
  const total = Object.entries(outputs)
    .filter(([f]) => !f.endsWith('.map') && !f.endsWith('.LEGAL.txt'))
    .reduce((s, [, n]) => s + n, 0);
  console.log(`graphiql: built dist/graphiql in ${(ms / 1000).toFixed(2)} s`);
  for (const f of main) console.log(`  ${kb(outputs[f])}  ${f}`);
  const chunkBytes = chunks.reduce((s, [, n]) => s + n, 0);
  console.log(`  ${kb(chunkBytes)}  chunks/ (${chunks.length} lazily loaded files)`);
  for (const [f, n] of chunks.sort((a, b) => b[1] - a[1]).slice(0, 3)) console.log(`  ${kb(n)}    ${f}`);
  if (assets.length) console.log(`  ${kb(assets.reduce((s, [, n]) => s + n, 0))}  assets/ (${assets.length} files)`);
  console.log(`  ${kb(total)}  total (without maps and license files)`);
} catch (err) {
  rmSync(tmpDir, { recursive: true, force: true });
  console.error(`graphiql: build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
