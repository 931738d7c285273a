import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { BadUserInputError } from '../../errors';
import { uploadForRegistration } from '../../release/pushVersion';
import { withoutRegistrationFields } from '../../registry/versionPublisher';
import { parseModelId, parseVersion } from '../../registry/identifiers';
import type { PublishProgressEvent } from '../../registry/versionPublisher';
import { readVersionFolder } from '../versionFolder';
import { CliError } from '../api';
import { formatBytes, publishedVersionLines, type Output } from '../io';
import { REGISTER_VERSION, WHOAMI, type RegisterVersionAnswer, type Whoami } from '../operations';
import { withCommonOptions, type CommandRunner, type CommonFlags } from '../program';

/** Files this large go up in parts (multipart upload), with a progress bar on a terminal. */
export const MULTIPART_THRESHOLD_BYTES = 16 * 1024 * 1024;

interface PushFlags extends CommonFlags {
  model: string;
  version?: string;
  dataSha256?: string;
  trainingWindow?: { from: string; to: string };
  sourceUri?: string;
}

/** Where a version came from, stored as metadata.json `lineage` (null: not known). */
export interface Lineage {
  git_commit: string | null;
  source_uri: string | null;
  training_data_sha256: string | null;
  training_from: string | null;
  training_to: string | null;
}

function parseSha256(v: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(v))
    throw new BadUserInputError('--data-sha256 must be a sha256 in hex (64 characters 0-9, a-f)', {
      argument: 'data-sha256',
    });
  return v.toLowerCase();
}

/** An ISO 8601 date (2025-01-31) or date-time (2025-01-31T16:00:00Z). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function parseTrainingWindow(v: string): { from: string; to: string } {
  const [from, to, ...rest] = v.split('..');
  const ok = (d: string | undefined) => d !== undefined && ISO_DATE.test(d) && !Number.isNaN(Date.parse(d));
  if (rest.length > 0 || !ok(from) || !ok(to))
    throw new BadUserInputError(
      `--training-window must be FROM..TO with ISO dates, e.g. 2024-01-01..2024-12-31, not ${JSON.stringify(v.slice(0, 80))}`,
      { argument: 'training-window' },
    );
  if (Date.parse(from!) > Date.parse(to!))
    throw new BadUserInputError(`--training-window: ${from} is after ${to}`, { argument: 'training-window' });
  return { from: from!, to: to! };
}

function parseSourceUri(v: string): string {
  if (v.length === 0 || v.length > 2000 || /[\u0000-\u001f\u007f]/.test(v))
    throw new BadUserInputError('--source-uri must be 1–2,000 printable characters', { argument: 'source-uri' });
  return v;
}

/** The commit checked out in the folder's git repository, or null (not a repository, no git). */
async function gitCommit(folder: string): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)('git', ['-C', folder, 'rev-parse', 'HEAD'], { timeout: 10_000 });
    const commit = stdout.trim();
    return /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(commit) ? commit : null;
  } catch {
    return null;
  }
}

export function addPushCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('push')
      .summary('validate a version folder, upload it once and have the API register it')
      .description(
        'Validate a version folder, upload it once to {model}/archive/{version}/ and have the API register it (mutation ' +
          'registerVersion: checksums, validation again, the principal recorded as publisher, the lineage stored). The folder holds ' +
          'model.onnx (or model.onnx.gz / model.onnx.br), feature_names.json, metadata.json with "strategies" (or a labels.json), ' +
          'and nothing is written unless the model loads in onnxruntime and matches its feature names and labels. Lineage: ' +
          "--data-sha256, --training-window, --source-uri and the folder's git commit (when it is in a git repository).",
      )
      .argument('<folder>', 'the version folder')
      .requiredOption('--model <id>', 'model id, e.g. etfs/SMH, stocks/universal, universal/all_assets_classifier')
      .option('--version <name>', 'version name, e.g. v1.3 (default: "version" in metadata.json)')
      .option('--data-sha256 <hex>', 'sha256 of the training data (lineage)', parseSha256)
      .option(
        '--training-window <from..to>',
        'the training data window, ISO dates, e.g. 2024-01-01..2024-12-31 (lineage)',
        parseTrainingWindow,
      )
      .option(
        '--source-uri <uri>',
        "where the version was built (lineage); default the folder's absolute path",
        parseSourceUri,
      ),
  ).action(async (folder: string, flags: PushFlags) =>
    run(flags, async ({ io, out, api, connect }) => {
      const model = parseModelId(flags.model);
      const path = resolve(io.cwd, folder);
      const contents = await readVersionFolder(path);
      const named = flags.version ?? contents.description.version;
      if (named === undefined)
        throw new BadUserInputError('Name the version with --version (metadata.json has no "version")', {
          argument: 'version',
        });
      const version = parseVersion(named);
      const lineage: Lineage = {
        git_commit: await gitCommit(path),
        source_uri: flags.sourceUri ?? path,
        training_data_sha256: flags.dataSha256 ?? null,
        training_from: flags.trainingWindow?.from ?? null,
        training_to: flags.trainingWindow?.to ?? null,
      };

      // The API registers the upload: make sure it answers and takes this principal's changes before uploading anything.
      const client = api();
      const { whoami } = await client.request<Whoami>(WHOAMI);
      if (!whoami.canWrite) {
        throw new CliError(
          whoami.id === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN',
          whoami.id === 'anonymous'
            ? `The API at ${client.target.url} needs a principal's token to register a version: give --token or MODELGRAPH_TOKEN`
            : `${whoami.id} lacks the scope models:write, which registering a version needs`,
        );
      }
      for (const name of contents.skipped) out.note(`skipping ${name}: not a version file`);
      out.note(`Validating and pushing ${model}@${version} from ${path} as ${whoami.id} …`);

      const conn = await connect();
      const progress = progressBars(out);
      let validation;
      try {
        ({ validation } = await uploadForRegistration(
          conn.runtime,
          { model, version, files: contents.files, description: contents.description },
          { onProgress: progress.update, multipartThresholdBytes: MULTIPART_THRESHOLD_BYTES },
        ));
      } finally {
        progress.stop();
      }
      const where = `s3://${conn.target.bucket}/${model}/archive/${version}/`;
      let registered;
      try {
        ({ registerVersion: registered } = await client.request<RegisterVersionAnswer>(REGISTER_VERSION, {
          model,
          version,
          // What describes the version travels with the registration: only the API writes metadata.json.
          metadata: { ...withoutRegistrationFields(contents.description), lineage },
        }));
      } catch (err) {
        out.note(
          `The files stay in ${where} as an unfinished upload (not a version): push the same folder again, ` +
            `or register them with: modelgraph register ${model} ${version}`,
        );
        throw err;
      }
      const metadata = await conn.runtime.registry.versionMetadata(model, version);
      out.result(
        () =>
          [
            `Pushed ${model}@${version} to ${where}, registered by ${whoami.id}`,
            `  validated: ${validation.modelFile} loads in onnxruntime (${formatBytes(validation.modelBytes)}), ${validation.features} features, ` +
              `${validation.labels} labels${validation.labelsCheckedAgainst === 'classifier-node' ? " matching the classifier's classes" : ''}`,
            ...(lineage.git_commit ? [`  git commit: ${lineage.git_commit}`] : []),
            '',
            ...publishedVersionLines(model, version, metadata.artifacts),
          ].join('\n'),
        { model, version, location: where, validation, metadata, registered },
      );
    }),
  );
}

/** One cli-progress bar per large file, on a terminal only. */
function progressBars(out: Output) {
  let bar: SingleBar | undefined;
  let file: string | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
    file = undefined;
  };
  return {
    update: (e: PublishProgressEvent) => {
      if (!out.interactive || e.totalBytes < MULTIPART_THRESHOLD_BYTES) return;
      if (file !== e.file) {
        stop();
        file = e.file;
        bar = new SingleBar(
          {
            format: `  ${e.file} [{bar}] {percentage}% | {sent} of {size}`,
            stream: out.io.stdout as NodeJS.WritableStream,
            hideCursor: true,
            clearOnComplete: false,
          },
          Presets.shades_classic,
        );
        bar.start(e.totalBytes, 0, { sent: formatBytes(0), size: formatBytes(e.totalBytes) });
      }
      bar!.update(e.sentBytes, { sent: formatBytes(e.sentBytes), size: formatBytes(e.totalBytes) });
      if (e.sentBytes >= e.totalBytes) stop();
    },
    stop,
  };
}
