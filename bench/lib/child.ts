/**
 * Runs one benchmark child process and collects the `@@MGBENCH {json}` lines
 * it prints, each stamped with the parent's clock so that "spawn → first
 * prediction" includes everything the child cannot see itself (fork, exec,
 * Node's bootstrap).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ChildMessage {
  kind: string;
  /** Parent clock: ms from spawn() to the moment this line arrived. */
  atMs: number;
  [field: string]: unknown;
}

export interface ChildRun {
  messages: ChildMessage[];
  exitCode: number | null;
  stderr: string;
  /** Lines on stdout that were not ours (the function's own logs). */
  otherLines: number;
}

/**
 * The environment of every child: nothing of this shell's but PATH/HOME/LANG.
 * In particular NODE_EXTRA_CA_CERTS (Lambda does not set it; when this machine
 * exports it, Node parses that bundle at start-up — section 1b measures what it
 * costs) and NODE_OPTIONS are NOT passed on.
 */
export function cleanEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[name]) env[name] = process.env[name]!;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

let specCounter = 0;

/** Writes a spec file for a child (MGB_SPEC). */
export function writeSpec(dir: string, spec: unknown): string {
  const file = join(dir, `spec-${process.pid}-${++specCounter}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

export function runChild(opts: {
  script: string;
  /** The node binary (default: this process's). */
  node?: string;
  execArgv?: string[];
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(opts.node ?? process.execPath, [...(opts.execArgv ?? []), opts.script], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const messages: ChildMessage[] = [];
    let otherLines = 0;
    let stderr = '';
    let pending = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `benchmark child ${opts.script} did not finish within ${opts.timeoutMs} ms; stderr: ${stderr.slice(-2000)}`,
        ),
      );
    }, opts.timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const at = performance.now() - started;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.startsWith('@@MGBENCH '))
          messages.push({ ...(JSON.parse(line.slice(10)) as { kind: string }), atMs: at });
        else if (line.trim()) otherLines++;
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ messages, exitCode: code, stderr, otherLines });
    });
  });
}

/** The first message of `kind`, or an error that shows what the child said instead. */
export function messageOf(run: ChildRun, kind: string, what: string): ChildMessage {
  const found = run.messages.find((m) => m.kind === kind);
  if (found) return found;
  const error = run.messages.find((m) => m.kind === 'error');
  throw new Error(
    `${what}: no "${kind}" result (exit ${run.exitCode}). ${error ? String(error.message) : ''}\n${run.stderr.slice(-3000)}`,
  );
}
