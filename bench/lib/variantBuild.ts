/**
 * The candidates of the what-if section: the function as built, and one what-if
 * build per variant that `scripts/build-lambda.mjs --list-variants` offers (each
 * the alternative to one cold-start lever that ships; the build honours it
 * through `define`s, nothing patches source text), all on the same Node. On
 * Node ≥ 22 also the function as built with a compile cache (NODE_COMPILE_CACHE)
 * filled by one import at the very path it then runs from and made read-only,
 * as a cache shipped in /var/task would be.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv } from './child';
import { nodeVersion, REPO_ROOT, targetFromDist, type LambdaTarget } from './lambdaTarget';
import type { WhatIfCandidate } from '../sections/whatIf';

const BUILD_SCRIPT = join(REPO_ROOT, 'scripts/build-lambda.mjs');

/** The variants the build offers: `[{ name, description }]`. */
export function listVariants(): Array<{ name: string; description: string }> {
  const res = spawnSync(process.execPath, [BUILD_SCRIPT, '--list-variants'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`build-lambda --list-variants failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as Array<{ name: string; description: string }>;
}

/** `node scripts/build-lambda.mjs --variant <name> --out <tmp>`, laid out like Lambda by targetFromDist. */
export function buildVariant(name: string, log: (line: string) => void): LambdaTarget {
  const dir = mkdtempSync(join(tmpdir(), 'modelgraph-bench-variant-'));
  try {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const started = performance.now();
    const res = spawnSync(process.execPath, [BUILD_SCRIPT, '--variant', name, '--out', join(dir, 'lambda')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env,
    });
    if (res.status !== 0) throw new Error(`what-if build ${name} failed:\n${res.stdout}${res.stderr}`);
    log(`what-if: built variant ${name} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const target = targetFromDist(join(dir, 'lambda'), `variant ${name}`, log);
    if (!target) throw new Error(`what-if build ${name} produced no function`);
    return target;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function filesIn(dir: string): number {
  try {
    return readdirSync(dir, { recursive: true }).filter((f) => statSync(join(dir, String(f))).isFile()).length;
  } catch {
    return 0;
  }
}

/**
 * A copy of `target` whose children run with NODE_COMPILE_CACHE: one import of the function fills the
 * cache (Node 22 keys it by the module's absolute path and the exact Node version), which is then made
 * read-only. Undefined when the Node of `target` writes no cache (Node < 22).
 */
export function withCompileCache(target: LambdaTarget, log: (line: string) => void): LambdaTarget | undefined {
  const cacheDir = join(target.cwd, '.node-compile-cache');
  const res = spawnSync(
    target.node ?? process.execPath,
    ['--input-type=module', '-e', `await import(${JSON.stringify(target.entryUrl)}); process.exit(0);`],
    {
      cwd: target.cwd,
      encoding: 'utf8',
      env: cleanEnv({ NODE_COMPILE_CACHE: cacheDir, NODE_PATH: target.nodePath, LOG_LEVEL: 'SILENT' }),
    },
  );
  const entries = filesIn(cacheDir);
  if (res.status !== 0 || entries === 0) {
    log(`what-if: no compile cache written (${nodeVersion(target.node)}; exit ${res.status})`);
    return undefined;
  }
  for (const f of readdirSync(cacheDir, { recursive: true })) chmodSync(join(cacheDir, String(f)), 0o555);
  chmodSync(cacheDir, 0o555);
  log(`what-if: compile cache of ${entries} files at ${cacheDir} (read-only)`);
  return {
    ...target,
    env: { ...target.env, NODE_COMPILE_CACHE: cacheDir },
    description: `${target.description}, NODE_COMPILE_CACHE pre-filled`,
    cleanup: () => {
      spawnSync('chmod', ['-R', 'u+w', cacheDir]);
      target.cleanup();
    },
  };
}

/**
 * The what-if candidates, the function as built first (ratios are to it): every build variant, the
 * compile cache on Lambda's Node, and the function as built on this process's Node when that differs.
 */
export function whatIfCandidates(
  asBuilt: LambdaTarget,
  log: (line: string) => void,
): { candidates: WhatIfCandidate[]; cleanup(): void } {
  const candidates: WhatIfCandidate[] = [];
  const owned: LambdaTarget[] = [];
  const version = nodeVersion(asBuilt.node);
  candidates.push({
    name: 'as built',
    description: 'the function that deploys',
    nodeVersion: version,
    target: asBuilt,
  });
  try {
    for (const v of listVariants()) {
      const target = { ...buildVariant(v.name, log), node: asBuilt.node };
      owned.push(target);
      candidates.push({ name: v.name, description: v.description, nodeVersion: version, target });
    }
    const copy = targetFromDist(join(REPO_ROOT, 'dist/lambda'), 'dist/lambda (compile cache)', log);
    if (copy) {
      const cached = withCompileCache({ ...copy, node: asBuilt.node }, log);
      owned.push(cached ?? copy);
      if (cached)
        candidates.push({
          name: 'compile cache',
          description: 'as built, with NODE_COMPILE_CACHE filled at the path it runs from (read-only)',
          nodeVersion: version,
          target: cached,
        });
    }
    if (asBuilt.node && asBuilt.node !== process.execPath)
      candidates.push({
        name: `as built, ${process.version}`,
        description: "the function that deploys, on this machine's Node",
        nodeVersion: process.version,
        target: { ...asBuilt, node: undefined },
      });
  } catch (err) {
    for (const t of owned) t.cleanup();
    throw err;
  }
  return { candidates, cleanup: () => owned.forEach((t) => t.cleanup()) };
}
