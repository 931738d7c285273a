import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { pushDataset, type ColumnRoles, type DatasetManifest } from '../../evaluation/datasets';
import { formatBytes, table } from '../io';
import { WHOAMI, type Whoami } from '../operations';
import { withCommonOptions, type CommandRunner, type CommonFlags } from '../program';

interface PushFlags extends CommonFlags {
  name: string;
  labelColumn?: string;
  timestampColumn?: string;
  pnlColumn?: string;
  tickerColumn?: string;
}

const DATASET_FIELDS = `name sha256 format sizeBytes rows rowGroups labelColumn timestampColumn pnlColumn tickerColumn
  labels pushedAt pushedBy columns { name kind }`;

type DatasetView = Omit<DatasetManifest, 'rowGroups' | 'key'> & { rowGroups: number };

function describe(d: Pick<DatasetView, 'name' | 'rows' | 'columns' | 'format' | 'sizeBytes' | 'sha256'>): string {
  return `${d.name}: ${d.rows.toLocaleString('en-US')} rows, ${d.columns.length} columns, ${d.format}, ${formatBytes(d.sizeBytes)}, sha256 ${d.sha256}`;
}

export function addDatasetCommand(program: Command, run: CommandRunner): void {
  const dataset = program
    .command('dataset')
    .summary('push and list evaluation datasets (shared/datasets/)')
    .description(
      'Datasets for `modelgraph evaluate`: Parquet (or small CSV) files whose columns hold the features, a label (the strategy ' +
        'that turned out right) and optionally a timestamp, pnl and ticker.',
    );
  withCommonOptions(
    dataset
      .command('push')
      .summary('validate a Parquet or CSV file and store it as a dataset')
      .description(
        'Validates FILE (a label on every row, a numeric pnl, parseable timestamps) and writes it to ' +
          'shared/datasets/{name}/{sha256}.parquet|csv (write-once, content-addressed) and its manifest ' +
          '(rows, columns, row groups, sha256). shared/ is not governed: the file goes to the bucket with your ' +
          'credentials (MODEL_BUCKET / --bucket, or the local server), not through the API. Features are checked ' +
          'against a version when it is evaluated.',
      )
      .argument('<file>', 'a .parquet or .csv file')
      .requiredOption('--name <name>', 'dataset name (a-z 0-9 . _ -), e.g. spy-2024')
      .option('--label-column <column>', 'the label column (default label)')
      .option('--timestamp-column <column>', 'the timestamp column (default timestamp, if present)')
      .option('--pnl-column <column>', 'the P&L column (default pnl, if present)')
      .option('--ticker-column <column>', 'the ticker column (default ticker, if present)'),
  ).action(async (file: string, flags: PushFlags) =>
    run(flags, async ({ io, out, api, connect }) => {
      const bytes = await readFile(resolve(io.cwd, file));
      // Who pushes, if an API answers (the manifest records it; shared/ itself is not governed).
      const by = await api()
        .request<Whoami>(WHOAMI)
        .then((w) => (w.whoami.id === 'anonymous' ? null : w.whoami.id))
        .catch(() => null);
      const roles: ColumnRoles = {
        labelColumn: flags.labelColumn,
        timestampColumn: flags.timestampColumn,
        pnlColumn: flags.pnlColumn,
        tickerColumn: flags.tickerColumn,
      };
      out.note(`Validating ${file} (${formatBytes(bytes.byteLength)}) …`);
      const conn = await connect();
      const manifest = await pushDataset(conn.runtime.store, { name: flags.name, bytes, roles, by });
      out.result(
        () =>
          [
            describe(manifest),
            `label ${manifest.labelColumn} (${manifest.labels.length} labels), timestamp ${manifest.timestampColumn ?? '-'}, ` +
              `pnl ${manifest.pnlColumn ?? '-'}, ticker ${manifest.tickerColumn ?? '-'}; ${manifest.rowGroups.length} row groups`,
            `stored at s3://${conn.target.bucket}/${manifest.key}`,
            '',
            `Next: modelgraph evaluate MODEL VERSION --dataset ${manifest.name}`,
          ].join('\n'),
        manifest,
      );
    }),
  );
  withCommonOptions(dataset.command('list').summary('list datasets (through the API)')).action(
    async (flags: CommonFlags) =>
      run(flags, async ({ out, api }) => {
        const { datasets } = await api().request<{ datasets: DatasetView[] }>(`{ datasets { ${DATASET_FIELDS} } }`);
        out.result(
          () =>
            datasets.length === 0
              ? 'No datasets. Push one with `modelgraph dataset push FILE --name NAME`.'
              : table(
                  ['NAME', 'ROWS', 'COLUMNS', 'FORMAT', 'SIZE', 'PUSHED', 'SHA256'],
                  datasets.map((d) => [
                    d.name,
                    d.rows.toLocaleString('en-US'),
                    String(d.columns.length),
                    d.format,
                    formatBytes(d.sizeBytes),
                    d.pushedAt,
                    d.sha256,
                  ]),
                ),
          datasets,
        );
      }),
  );
}
