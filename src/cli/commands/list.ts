import type { Command } from 'commander';
import { primaryArtifactName } from '../../registry/versionMetadata';
import { parseModelId, type Stage } from '../../registry/identifiers';
import type { Runtime } from '../../runtime';
import { BadUserInputError } from '../../errors';
import { formatBytes, table } from '../io';
import { withCommonOptions, type CommandRunner, type CommonFlags } from '../program';

interface ListFlags extends CommonFlags {
  history: number;
}

const STAGES: Stage[] = ['PRODUCTION', 'STAGING'];

export function addListCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('ls')
      .summary("list models, or one model's versions and history")
      .description(
        'Without a model: every model with its production and staging versions. With one: its versions and deployment history.',
      )
      .argument('[model]', 'model id, e.g. etfs/SPY')
      .option(
        '--history <n>',
        'deployments to show, newest first',
        (v: string) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 0 || n > 10_000)
            throw new BadUserInputError('--history must be an integer from 0 to 10000', { argument: 'history' });
          return n;
        },
        10,
      ),
  ).action(async (modelArg: string | undefined, flags: ListFlags) =>
    run(flags, async ({ out, connect }) => {
      const model = modelArg === undefined ? undefined : parseModelId(modelArg);
      const { runtime } = await connect();
      if (model) {
        const listing = await listModel(runtime, model, flags.history);
        out.result(() => formatModel(listing), listing);
      } else {
        const models = await listModels(runtime);
        out.result(
          () =>
            models.length === 0
              ? 'No models in this bucket yet. Ship one with: modelgraph push <folder> --model etfs/SPY --version v1'
              : table(
                  ['MODEL', 'TYPE', 'PRODUCTION', 'STAGING'],
                  models.map((m) => [m.id, m.type, m.production ?? '-', m.staging ?? '-']),
                ),
          { models },
        );
      }
    }),
  );
}

async function listModels(runtime: Runtime) {
  const models = await runtime.registry.listModels();
  return Promise.all(
    models.map(async (m) => {
      const [production, staging] = await Promise.all(STAGES.map((s) => runtime.registry.stagePointer(m.id, s)));
      return {
        id: m.id,
        type: m.type,
        production: production?.value.version ?? null,
        staging: staging?.value.version ?? null,
      };
    }),
  );
}

interface VersionRow {
  version: string;
  /** False for a folder without valid metadata.json: an unfinished upload, not (yet) a version. */
  registered: boolean;
  created: string | null;
  accuracy: number | null;
  modelFile: string | null;
  size: number | null;
  sha256: string | null;
  stages: Stage[];
}

async function listModel(runtime: Runtime, model: string, historyCount: number) {
  await runtime.registry.requireModel(model);
  const [names, pointers, history] = await Promise.all([
    runtime.registry.listVersions(model),
    Promise.all(STAGES.map((s) => runtime.registry.stagePointer(model, s))),
    runtime.deployments.history(model, historyCount),
  ]);
  const versions: VersionRow[] = await Promise.all(
    names.map(async (version): Promise<VersionRow> => {
      const stages = STAGES.filter((_, i) => pointers[i]?.value.version === version);
      try {
        const meta = await runtime.registry.versionMetadata(model, version);
        const file = primaryArtifactName(meta);
        return {
          version,
          registered: true,
          created: meta.created ?? null,
          accuracy: meta.accuracy ?? null,
          modelFile: file,
          size: meta.artifacts[file].size,
          sha256: meta.artifacts[file].sha256,
          stages,
        };
      } catch {
        return {
          version,
          registered: false,
          created: null,
          accuracy: null,
          modelFile: null,
          size: null,
          sha256: null,
          stages,
        };
      }
    }),
  );
  return {
    model,
    production: pointers[0]?.value.version ?? null,
    staging: pointers[1]?.value.version ?? null,
    versions,
    history: history.slice(0, historyCount),
  };
}

function formatModel(l: Awaited<ReturnType<typeof listModel>>): string {
  const lines = [`${l.model}  production: ${l.production ?? '-'}  staging: ${l.staging ?? '-'}`, ''];
  lines.push(
    l.versions.length === 0
      ? 'No versions.'
      : table(
          ['VERSION', 'CREATED', 'ACCURACY', 'SIZE', 'SHA256', 'STAGES'],
          l.versions.map((v) =>
            v.registered
              ? [
                  v.version,
                  v.created?.slice(0, 10) ?? '-',
                  v.accuracy?.toFixed(3) ?? '-',
                  formatBytes(v.size!),
                  v.sha256!.slice(0, 12),
                  v.stages.map((s) => s.toLowerCase()).join(', '),
                ]
              : [v.version, '-', '-', '-', '(unregistered upload)', ''],
          ),
        ),
  );
  if (l.history.length) {
    lines.push('', 'HISTORY (newest first)');
    lines.push(
      table(
        ['AT', 'STAGE', 'ACTION', 'FROM', 'TO', 'BY', 'REASON'],
        l.history.map((d) => [
          d.at.replace('T', ' ').slice(0, 19),
          d.stage.toLowerCase(),
          d.action.toLowerCase(),
          d.from ?? '-',
          d.to,
          d.by,
          d.reason ?? '',
        ]),
      ),
    );
  }
  return lines.join('\n');
}
