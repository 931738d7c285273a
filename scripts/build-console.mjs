#!/usr/bin/env node
// Bundles the console (src/console/main.tsx + console.css, with uPlot's
// stylesheet) into dist/console/ with esbuild. Nothing is loaded from a CDN.
//
//   node scripts/build-console.mjs           build if an input is newer than the output
//   node scripts/build-console.mjs --force   always rebuild
//
// Output (dist/console/):
//   index.html                 the page, naming the hashed files; %CONSOLE_CONFIG% is filled by src/console/serve.ts
//   _/app-[hash].js, .css      content-hashed (served with a one-year immutable cache)
//   build-meta.json            written last: when the build started and the output sizes
//
// scripts/build-lambda.mjs copies the folder into the Lambda bundle (the function serves /console on AWS).

import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src/console');
const outDir = join(root, 'dist/console');
const force = process.argv.includes('--force');
const require = createRequire(join(root, 'package.json'));

/** Every file whose change must trigger a rebuild. */
function inputFiles() {
  const files = [fileURLToPath(import.meta.url), join(root, 'package-lock.json')];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(tsx?|css|html)$/.test(entry.name) && entry.name !== 'serve.ts') files.push(p);
    }
  };
  walk(srcDir);
  for (const f of readdirSync(join(root, 'src/generated/client'))) files.push(join(root, 'src/generated/client', f));
  return files.filter((f) => existsSync(f));
}

function upToDate() {
  try {
    const { startedAtMs } = JSON.parse(readFileSync(join(outDir, 'build-meta.json'), 'utf8'));
    return existsSync(join(outDir, 'index.html')) && inputFiles().every((f) => statSync(f).mtimeMs < startedAtMs);
  } catch {
    return false;
  }
}

if (!force && upToDate()) {
  console.log('console: dist/console is up to date (use --force to rebuild)');
  process.exit(0);
}

const startedAtMs = Date.now();
const tmpDir = join(root, 'dist', `.console-build-${process.pid}`);
rmSync(tmpDir, { recursive: true, force: true });
mkdirSync(join(tmpDir, '_'), { recursive: true });

try {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [
      { in: join(srcDir, 'main.tsx'), out: 'app' },
      { in: join(srcDir, 'console.css'), out: 'app' },
    ],
    outdir: join(tmpDir, '_'),
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome111', 'firefox115', 'safari16.4'],
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"', __DEV__: 'false' },
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.fromEntries(
    Object.entries(result.metafile.outputs).map(([f, o]) => [relative(tmpDir, resolve(root, f)), o.bytes]),
  );
  const pick = (ext) => {
    const f = Object.keys(outputs).find((o) => o.startsWith('_/app-') && o.endsWith(ext));
    if (!f) throw new Error(`no ${ext} output`);
    return basename(f);
  };
  const html = readFileSync(join(srcDir, 'index.html'), 'utf8')
    .replaceAll('%APP_JS%', `/console/_/${pick('.js')}`)
    .replaceAll('%APP_CSS%', `/console/_/${pick('.css')}`);
  writeFileSync(join(tmpDir, 'index.html'), html);
  outputs['index.html'] = Buffer.byteLength(html);
  writeFileSync(
    join(tmpDir, 'build-meta.json'),
    JSON.stringify(
      { builtAt: new Date().toISOString(), startedAtMs, esbuild: require('esbuild/package.json').version, outputs },
      null,
      2,
    ) + '\n',
  );
  const oldDir = join(root, 'dist', `.console-old-${process.pid}`);
  try {
    if (existsSync(outDir)) renameSync(outDir, oldDir);
    renameSync(tmpDir, outDir);
  } catch (err) {
    // Another build swapped its (equivalent) output in at the same moment.
    if (!existsSync(join(outDir, 'build-meta.json'))) throw err;
    rmSync(tmpDir, { recursive: true, force: true });
  }
  rmSync(oldDir, { recursive: true, force: true });
  const kb = (n) => `${(n / 1024).toFixed(1).padStart(7)} KiB`;
  console.log(`console: built dist/console in ${((Date.now() - startedAtMs) / 1000).toFixed(2)} s`);
  for (const [f, n] of Object.entries(outputs).filter(([f]) => !f.endsWith('.txt'))) console.log(`  ${kb(n)}  ${f}`);
} catch (err) {
  rmSync(tmpDir, { recursive: true, force: true });
  console.error(`console: build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
