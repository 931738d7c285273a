/**
 * `modelgraph dataset push` (a CSV file this time), `dataset list` and
 * `modelgraph evaluate` against a local server, as an engineer runs them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish } from '../governance/support';
import { startTestStack, type TestStack } from '../support/stack';
import { cliFor } from '../writePath/support';
import { EVAL_FEATURES, bareLabels, knownRows, modelBytes, type KnownRows } from './support';

const MODEL = 'universal/eval_cli';

function csvOf(rows: KnownRows): string {
  const header = [...EVAL_FEATURES, 'label', 'timestamp', 'pnl', 'ticker'];
  const lines = [header.join(',')];
  for (let i = 0; i < rows.n; i++)
    lines.push(
      [
        ...EVAL_FEATURES.map((f) => rows.features[f][i]),
        rows.labels[i],
        rows.timestamps[i].toISOString(),
        rows.pnl[i],
        `"${rows.tickers[i]}"`,
      ].join(','),
    );
  return `${lines.join('\n')}\n`;
}

describe('modelgraph dataset / evaluate', () => {
  let stack: TestStack;
  let dir: string;
  let rows: KnownRows;

  beforeAll(async () => {
    // Prepare
    stack = await startTestStack({ seed: false });
    await publish(stack, stack.server.writeToken!, MODEL, 'v1', { seed: 21 });
    dir = await mkdtemp(join(tmpdir(), 'modelgraph-eval-cli-'));
    rows = knownRows(300, 5);
    await writeFile(join(dir, 'rows.csv'), csvOf(rows));
  }, 60_000);

  afterAll(async () => {
    await stack?.server.runtime.evaluations.idle();
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pushes a CSV dataset, lists it, and evaluates a version on it with progress shown', async () => {
    const mg = cliFor(stack);
    // Act
    const pushed = await mg('dataset', 'push', join(dir, 'rows.csv'), '--name', 'cli-rows', '--json');
    const listed = await mg('dataset', 'list', '--json');
    const evaluated = await mg(
      'evaluate',
      MODEL,
      'v1',
      '--dataset',
      'cli-rows',
      '--compare-with',
      'none',
      '--poll-ms',
      '50',
    );
    const json = await mg('evaluate', MODEL, 'v1', '--dataset', 'cli-rows', '--compare-with', 'none', '--json');
    // Assess
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.json).toMatchObject({ name: 'cli-rows', format: 'csv', rows: 300, pushedBy: 'admin' });
    expect(listed.json).toEqual([expect.objectContaining({ name: 'cli-rows', rows: 300, sha256: pushed.json.sha256 })]);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.stderr).toMatch(/Evaluating universal\/eval_cli@v1 on cli-rows \(300 rows, 1 chunks\)/);
    expect(evaluated.stderr).toMatch(/\d\/1 chunks, \d+ of 300 rows/);
    const labels = await bareLabels(modelBytes(21), rows);
    const right = labels.filter((l, i) => l === rows.labels[i]).length;
    expect(evaluated.stdout).toContain(`accuracy ${((right / 300) * 100).toFixed(2)}%`);
    expect(evaluated.stdout).toMatch(/MONTH\s+ROWS\s+ACCURACY/);
    expect(json.code).toBe(0);
    expect(json.json).toMatchObject({ status: 'SUCCEEDED', result: { rows: 300 } });
    expect(json.json.result.accuracy).toBeCloseTo(right / 300, 12);
    expect(json.stderr).toBe('');
  });

  it('policy sets and shows the evaluation rules', async () => {
    const mg = cliFor(stack);
    // Act
    const set = await mg(
      'policy',
      MODEL,
      '--evaluation-dataset',
      'cli-rows',
      '--min-evaluation-accuracy',
      '0.1',
      '--max-accuracy-drop',
      '0.02',
      '--reason',
      'backtests gate production',
    );
    const shown = await mg('policy', MODEL);
    // Assess
    expect(set.code, set.stderr).toBe(0);
    expect(shown.stdout).toContain('min evaluation accuracy on cli-rows: 10.0');
    expect(shown.stdout).toContain('max accuracy drop vs production on cli-rows: 2.00 points');
  });

  it('a wrong dataset name is a usage error (exit 2) and names the command that pushes one', async () => {
    // Act
    const res = await cliFor(stack)('evaluate', MODEL, 'v1', '--dataset', 'missing');
    // Assess
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/error BAD_USER_INPUT: No dataset "missing" \(push one with `modelgraph dataset push/);
  });
});
