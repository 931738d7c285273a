import type { Command } from 'commander';
import { parseModelId, parseVersion } from '../../registry/identifiers';
import { publishedVersionLines } from '../io';
import { REGISTER_VERSION, type RegisterVersionAnswer } from '../operations';
import { withCommonOptions, type CommandRunner, type CommonFlags } from '../program';

interface RegisterFlags extends CommonFlags {
  strategies?: string;
}

export function addRegisterCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('register')
      .summary('register a version another tool uploaded to the archive')
      .description(
        'Register a version whose files another tool uploaded to {model}/archive/{version}/ through the API (mutation ' +
          'registerVersion): it computes checksums from the stored files, validates the model like push, writes metadata.json once ' +
          'and records the principal as its publisher.',
      )
      .argument('<model>', 'model id, e.g. etfs/SMH')
      .argument('<version>', 'the version folder name under {model}/archive/')
      .option(
        '--strategies <labels>',
        'comma-separated class labels in probabilities column order (if the uploaded metadata.json lacks them)',
      ),
  ).action(async (modelArg: string, versionArg: string, flags: RegisterFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(modelArg);
      const version = parseVersion(versionArg);
      const strategies = flags.strategies
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const { registerVersion: registered } = await api().request<RegisterVersionAnswer>(REGISTER_VERSION, {
        model,
        version,
        strategies,
      });
      out.result(
        () =>
          [
            `Registered ${model}@${version} (${registered.featureNames.length} features, ${registered.labels.length} labels)`,
            '',
            ...publishedVersionLines(model, version, {
              [registered.modelFile]: { size: registered.sizeBytes, sha256: registered.sha256 },
            }),
          ].join('\n'),
        { model, version, registered },
      );
    }),
  );
}
