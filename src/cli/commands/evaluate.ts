import { Presets, SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import { parseModelId, parseVersion } from '../../registry/identifiers';
import { CliError } from '../api';
import { table, type Output } from '../io';
import { withCommonOptions, type CommandRunner, type CommonFlags } from '../program';

interface EvaluateFlags extends CommonFlags {
  dataset: string;
  compareWith: 'PRODUCTION' | 'STAGING' | 'NONE';
  wait: boolean;
  pollMs: string;
}

export const EVALUATION_FIELDS = `id model { id } version dataset datasetSha256 status progress chunks chunksDone rows rowsScored
  executor attempt comparisonVersion startedAt startedBy completedAt error
  result {
    rows accuracy comparisonAccuracy documentKey
    classes { label precision recall f1 support }
    confusion { labels matrix }
    monthly { month rows accuracy comparisonAccuracy }
    pnl { total weightedAccuracy following comparisonWeightedAccuracy comparisonFollowing }
    agreement { rows agreements rate disagreementSample }
    candidate { version sha256 datasetSha256 }
    comparison { version sha256 stage }
  }`;

interface EvaluationAnswer {
  id: string;
  version: string;
  dataset: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  progress: number;
  chunks: number;
  chunksDone: number;
  rows: number;
  rowsScored: number;
  comparisonVersion: string | null;
  error: string | null;
  result: {
    rows: number;
    accuracy: number | null;
    comparisonAccuracy: number | null;
    documentKey: string;
    classes: Array<{
      label: string;
      precision: number | null;
      recall: number | null;
      f1: number | null;
      support: number;
    }>;
    monthly: Array<{ month: string; rows: number; accuracy: number; comparisonAccuracy: number | null }> | null;
    pnl: {
      total: number;
      weightedAccuracy: number | null;
      following: number;
      comparisonWeightedAccuracy: number | null;
      comparisonFollowing: number | null;
    } | null;
    agreement: { rows: number; agreements: number; rate: number | null; disagreementSample: number[] } | null;
  } | null;
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);
const num = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(2));

/** What a finished evaluation shows on a terminal. */
export function evaluationLines(model: string, e: EvaluationAnswer): string[] {
  const r = e.result!;
  const vs = e.comparisonVersion;
  const lines = [
    `${model}@${e.version} on ${e.dataset}: ${r.rows.toLocaleString('en-US')} rows, accuracy ${pct(r.accuracy)}` +
      (vs ? ` (${vs}: ${pct(r.comparisonAccuracy)})` : ''),
    '',
    table(
      ['CLASS', 'PRECISION', 'RECALL', 'F1', 'SUPPORT'],
      r.classes.map((c) => [c.label, pct(c.precision), pct(c.recall), pct(c.f1), String(c.support)]),
    ),
  ];
  if (r.monthly)
    lines.push(
      '',
      table(
        ['MONTH', 'ROWS', 'ACCURACY', ...(vs ? [vs] : [])],
        r.monthly.map((m) => [m.month, String(m.rows), pct(m.accuracy), ...(vs ? [pct(m.comparisonAccuracy)] : [])]),
      ),
    );
  if (r.pnl)
    lines.push(
      '',
      `P&L: dataset total ${num(r.pnl.total)}; following ${e.version} ${num(r.pnl.following)} (weighted accuracy ${pct(r.pnl.weightedAccuracy)})` +
        (vs ? `; following ${vs} ${num(r.pnl.comparisonFollowing)} (${pct(r.pnl.comparisonWeightedAccuracy)})` : ''),
    );
  if (r.agreement)
    lines.push(
      `Agreement with ${vs}: ${pct(r.agreement.rate)} (${r.agreement.rows - r.agreement.agreements} rows disagree; sample: ` +
        `${r.agreement.disagreementSample.slice(0, 10).join(', ')}${r.agreement.disagreementSample.length > 10 ? ', …' : ''})`,
    );
  lines.push('', `Document: ${r.documentKey}`);
  return lines;
}

/** A progress bar with ETA on a terminal; otherwise a line per change of chunks done. */
function progressDisplay(out: Output) {
  let bar: SingleBar | undefined;
  let lastDone = -1;
  return {
    update(e: EvaluationAnswer) {
      if (out.interactive) {
        if (!bar) {
          bar = new SingleBar(
            {
              format:
                '  scoring [{bar}] {percentage}% | {rowsScored} of {rows} rows | chunks {chunksDone}/{chunks} | ETA {eta_formatted}',
              stream: out.io.stdout as NodeJS.WritableStream,
              hideCursor: true,
              etaBuffer: 20,
            },
            Presets.shades_classic,
          );
          bar.start(e.rows, 0, e);
        }
        bar.update(e.rowsScored, e);
      } else if (e.chunksDone !== lastDone) {
        out.note(
          `  ${e.chunksDone}/${e.chunks} chunks, ${e.rowsScored} of ${e.rows} rows (${(e.progress * 100).toFixed(0)}%)`,
        );
      }
      lastDone = e.chunksDone;
    },
    stop: () => bar?.stop(),
  };
}

export function addEvaluateCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('evaluate')
      .summary('evaluate a version on a dataset (accuracy, per class, per month, P&L, agreement with production)')
      .description(
        'Starts evaluateVersion through the API and shows its progress (a bar with ETA on a terminal) until the result is ' +
          'written, then prints it. The same version on the same dataset file is answered from its write-once document; a ' +
          'failed evaluation is resumed. Needs models:write.',
      )
      .argument('<model>', 'model id, e.g. etfs/SPY')
      .argument('<version>', 'the version to evaluate')
      .requiredOption('--dataset <name>', 'the dataset (modelgraph dataset list)')
      .addOption(
        new Option('--compare-with <stage>', 'compare row by row with production, staging or none')
          .choices(['production', 'staging', 'none'])
          .default('PRODUCTION', 'production')
          .argParser((v: string) => v.toUpperCase()),
      )
      .option('--no-wait', 'start it and print its id without waiting')
      .option('--poll-ms <ms>', 'how often to poll evaluation(id)', '500'),
  ).action(async (modelArg: string, versionArg: string, flags: EvaluateFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(modelArg);
      const version = parseVersion(versionArg);
      const client = api();
      let { evaluateVersion: e } = await client.request<{ evaluateVersion: EvaluationAnswer }>(
        `mutation Evaluate($m: ID!, $v: String!, $d: String!, $c: EvaluationComparison) {
          evaluateVersion(model: $m, version: $v, dataset: $d, compareWith: $c) { ${EVALUATION_FIELDS} }
        }`,
        { m: model, v: version, d: flags.dataset, c: flags.compareWith },
      );
      if (e.status === 'SUCCEEDED')
        out.note(`${model}@${version} on ${flags.dataset}: answered from the stored result`);
      else
        out.note(
          `Evaluating ${model}@${version} on ${flags.dataset} (${e.rows.toLocaleString('en-US')} rows, ${e.chunks} chunks) …`,
        );
      if (!flags.wait && e.status === 'RUNNING') {
        out.result(`${e.id} RUNNING: modelgraph evaluate ${model} ${version} --dataset ${flags.dataset} follows it`, e);
        return;
      }
      const display = progressDisplay(out);
      const pollMs = Math.max(50, Number(flags.pollMs) || 500);
      try {
        while (e.status === 'RUNNING') {
          display.update(e);
          await new Promise((r) => setTimeout(r, pollMs));
          const { evaluation } = await client.request<{ evaluation: EvaluationAnswer | null }>(
            `query Evaluation($id: ID!) { evaluation(id: $id) { ${EVALUATION_FIELDS} } }`,
            { id: e.id },
          );
          if (!evaluation) throw new CliError('INTERNAL_ERROR', `evaluation ${e.id} disappeared`);
          e = evaluation;
        }
        display.update(e);
      } finally {
        display.stop();
      }
      if (e.status === 'FAILED')
        throw new CliError(
          'EVALUATION_FAILED',
          `${e.error ?? 'the evaluation failed'} (run the same command again to resume it)`,
          {
            id: e.id,
          },
        );
      out.result(() => evaluationLines(model, e).join('\n'), e);
    }),
  );
}
