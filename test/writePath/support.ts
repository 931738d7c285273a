import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { buildTreeEnsembleClassifier, type TreeEnsembleSpec } from '../../src/demo/treeEnsemble';
import { runCli } from '../../src/cli/program';
import type { CliIo } from '../../src/cli/io';
import { expect } from 'vitest';
import { ConflictError } from '../../src/errors';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { stagePointerKey } from '../../src/registry/bucketLayout';
import { Deployments, type DeploymentsOptions } from '../../src/registry/deployments';
import { Registry } from '../../src/registry/registry';
import { parseJsonDocument, StagePointerSchema, type StagePointer } from '../../src/registry/versionMetadata';
import { ObjectStore } from '../../src/storage/objectStore';
import { createS3Client } from '../../src/storage/s3Client';
import type { TestStack } from '../support/stack';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs that succeeded). */
  json: any;
  /** stderr parsed as JSON (for --json runs that failed). */
  error: any;
}

/** Runs the `modelgraph` command in this process: the same code path as the binary, output captured. */
export async function cli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env: { MODELGRAPH_USER: 'test-engineer', ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    stdout: { write: (s: string | Uint8Array) => ((stdout += String(s)), true), isTTY: false },
    stderr: { write: (s: string | Uint8Array) => ((stderr += String(s)), true) },
  };
  const code = await runCli(args, io);
  const parse = (s: string) => {
    try {
      return JSON.parse(s);
    } catch {
      return undefined;
    }
  };
  return { code, stdout, stderr, json: parse(stdout), error: parse(stderr)?.error };
}

/**
 * `modelgraph …` against a test stack the way an engineer runs it beside `npm start`: the API and the bucket found
 * through the stack's data folder (server-url, s3-endpoint), with the admin principal's token unless `token` is given
 * (null: no token). MODELGRAPH_USER is set (by cli) to prove it is never recorded: `by` is always the principal.
 */
export function cliFor(stack: TestStack, token: string | null = stack.server.writeToken) {
  return (...args: string[]) =>
    cli(args, { env: { MODELGRAPH_DATA_DIR: stack.dataDir, ...(token ? { MODELGRAPH_TOKEN: token } : {}) } });
}

export interface FolderSpec extends Partial<TreeEnsembleSpec> {
  /** metadata.json content (default: { strategies: labels, accuracy: 0.7 }); null = no metadata.json. */
  metadata?: Record<string, unknown> | null;
  /** feature_names.json content (default: featureNames); null = no file. */
  featureNamesFile?: unknown;
  /** labels.json content; undefined = no file. */
  labelsFile?: unknown;
  /** Replace the model bytes (e.g. corrupt ones). */
  modelBytes?: Uint8Array;
  compression?: 'gz' | 'br';
}

export const FEATURES = ['iv_rank', 'rsi_14', 'skew', 'term_slope', 'vix'];
export const LABELS = ['IRON_CONDOR', 'BULL_CALL_SPREAD', 'BEAR_PUT_SPREAD', 'NO_TRADE'];

/** A small real TreeEnsembleClassifier model (a few KB). */
export function smallModel(spec: Partial<TreeEnsembleSpec> = {}): Uint8Array {
  return buildTreeEnsembleClassifier({ featureNames: FEATURES, labels: LABELS, trees: 4, depth: 3, seed: 1, ...spec });
}

/** Writes a version folder to a temp dir and answers its path. */
export async function writeVersionFolder(spec: FolderSpec = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgraph-version-'));
  await mkdir(dir, { recursive: true });
  const featureNames = spec.featureNames ?? FEATURES;
  const labels = spec.labels ?? LABELS;
  const model = spec.modelBytes ?? smallModel({ ...spec, featureNames, labels });
  const modelFile = spec.compression ? `model.onnx.${spec.compression}` : 'model.onnx';
  const bytes =
    spec.compression === 'gz' ? gzipSync(model) : spec.compression === 'br' ? brotliCompressSync(model) : model;
  await writeFile(join(dir, modelFile), bytes);
  if (spec.featureNamesFile !== null)
    await writeFile(join(dir, 'feature_names.json'), JSON.stringify(spec.featureNamesFile ?? featureNames));
  if (spec.labelsFile !== undefined) await writeFile(join(dir, 'labels.json'), JSON.stringify(spec.labelsFile));
  if (spec.metadata !== null)
    await writeFile(join(dir, 'metadata.json'), JSON.stringify(spec.metadata ?? { strategies: labels, accuracy: 0.7 }));
  return dir;
}

/** Polls `probe` until it returns a value, or fails after `ms`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Writers with their own S3 client, store, registry and Deployments over the
 * stack's bucket: what other processes would have (nothing cached is shared
 * with the server). `close()` destroys their clients.
 */
export function separateProcesses(stack: () => TestStack) {
  const clients: ReturnType<typeof createS3Client>[] = [];
  return {
    open(opts: DeploymentsOptions = {}): { registry: Registry; deployments: Deployments } {
      const client = createS3Client({
        region: 'us-east-1',
        endpoint: stack().server.s3!.endpoint,
        credentials: EMBEDDED_S3_CREDENTIALS,
      });
      clients.push(client);
      const registry = new Registry(new ObjectStore(client, stack().server.runtime.bucket), {
        pointerTtlMs: 30_000,
        maxStaleMs: 0,
      });
      return { registry, deployments: new Deployments(registry, opts) };
    },
    close(): void {
      for (const c of clients) c.destroy();
    },
  };
}

/** A stage pointer as stored in the bucket right now. */
export async function storedPointer(
  stack: TestStack,
  model: string,
  stage: 'PRODUCTION' | 'STAGING' = 'PRODUCTION',
): Promise<StagePointer> {
  const key = stagePointerKey(model, stage);
  return parseJsonDocument(StagePointerSchema, (await stack.server.runtime.store.get(key)).body, key);
}

/** Racers' outcomes split in winners and losers; asserts every loser failed with CONFLICT and at least one won. */
export function winsAndConflicts<T>(settled: readonly PromiseSettledResult<T>[]): {
  wins: T[];
  losses: ConflictError[];
} {
  const wins = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const losses = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as ConflictError] : []));
  for (const err of losses) {
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.code).toBe('CONFLICT');
  }
  expect(wins.length).toBeGreaterThanOrEqual(1);
  return { wins, losses };
}
