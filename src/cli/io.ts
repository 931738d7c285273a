import type { Writable } from 'node:stream';

/** Where a CLI run reads its environment and writes its output (process streams, or buffers in tests). */
export interface CliIo {
  env: Record<string, string | undefined>;
  cwd: string;
  stdout: Pick<Writable, 'write'> & { isTTY?: boolean; columns?: number };
  stderr: Pick<Writable, 'write'>;
}

export function processIo(): CliIo {
  return { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr };
}

/** Output shared by every command: human-readable text, or one JSON document with --json. */
export class Output {
  constructor(
    readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** A result: `text` for people, `data` for --json. */
  result(text: string | (() => string), data: unknown): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    else this.io.stdout.write(`${typeof text === 'function' ? text() : text}\n`);
  }

  /** Progress and hints: on stderr, never with --json (stdout stays parseable, stderr stays quiet). */
  note(line: string): void {
    if (!this.json) this.io.stderr.write(`${line}\n`);
  }

  /** Whether a progress bar may be drawn: a terminal, and not --json. */
  get interactive(): boolean {
    return !this.json && this.io.stdout.isTTY === true;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** A plain left-aligned table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** The lines shown after a version is published: its artifacts with size and sha256, then the next step. */
export function publishedVersionLines(
  model: string,
  version: string,
  artifacts: Record<string, { size: number; sha256: string }>,
): string[] {
  return [
    table(
      ['FILE', 'SIZE', 'SHA256'],
      Object.entries(artifacts).map(([name, a]) => [name, formatBytes(a.size), a.sha256]),
    ),
    '',
    `Next: modelgraph promote ${model} ${version} --stage staging`,
  ];
}
