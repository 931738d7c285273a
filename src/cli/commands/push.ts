import { resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { BadUserInputError } from '../../errors';
import { pushVersion } from '../../release/pushVersion';
import { parseModelId, parseVersion } from '../../registry/identifiers';
import type { PublishProgressEvent } from '../../registry/versionPublisher';
import { readVersionFolder } from '../versionFolder';
import { formatBytes, publishedVersionLines, type Output } from '../io';
import { withCommonOptions, type CommandRunner, type CommonFlags } from '../program';

/** Files this large go up in parts (multipart upload), with a progress bar on a terminal. */
export const MULTIPART_THRESHOLD_BYTES = 16 * 1024 * 1024;

interface PushFlags extends CommonFlags {
  model: string;
  version?: string;
}

export function addPushCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('push')
      .summary('validate a version folder and upload it once')
      .description(
        'Validate a version folder and upload it once to {model}/archive/{version}/. The folder holds model.onnx ' +
          '(or model.onnx.gz / model.onnx.br), feature_names.json, metadata.json with "strategies" (or a labels.json), ' +
          'and nothing is written unless the model loads in onnxruntime and matches its feature names and labels.',
      )
      .argument('<folder>', 'the version folder')
      .requiredOption('--model <id>', 'model id, e.g. etfs/SMH, stocks/universal, universal/all_assets_classifier')
      .option('--version <name>', 'version name, e.g. v1.3 (default: "version" in metadata.json)'),
  ).action(async (folder: string, flags: PushFlags) =>
    run(flags, async ({ io, out, user, connect }) => {
      const model = parseModelId(flags.model);
      const path = resolve(io.cwd, folder);
      const contents = await readVersionFolder(path);
      const named = flags.version ?? contents.description.version;
      if (named === undefined)
        throw new BadUserInputError('Name the version with --version (metadata.json has no "version")', {
          argument: 'version',
        });
      const version = parseVersion(named);
      for (const name of contents.skipped) out.note(`skipping ${name}: not a version file`);
      out.note(`Validating and pushing ${model}@${version} from ${path} …`);

      const conn = await connect();
      const progress = progressBars(out);
      let result;
      try {
        result = await pushVersion(
          conn.runtime,
          { model, version, files: contents.files, description: contents.description, by: user },
          { onProgress: progress.update, multipartThresholdBytes: MULTIPART_THRESHOLD_BYTES },
        );
      } finally {
        progress.stop();
      }
      const { metadata, validation } = result;
      const where = `s3://${conn.target.bucket}/${model}/archive/${version}/`;
      out.result(
        () =>
          [
            `Pushed ${model}@${version} to ${where}`,
            `  validated: ${validation.modelFile} loads in onnxruntime (${formatBytes(validation.modelBytes)}), ${validation.features} features, ` +
              `${validation.labels} labels${validation.labelsCheckedAgainst === 'classifier-node' ? " matching the classifier's classes" : ''}`,
            '',
            ...publishedVersionLines(model, version, metadata.artifacts),
          ].join('\n'),
        { model, version, location: where, validation, metadata },
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
