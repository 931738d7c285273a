import type { Command } from 'commander';
import { registerVersion } from '../../release/registerVersion';
import { parseModelId, parseVersion } from '../../registry/identifiers';
import { publishedVersionLines } from '../io';
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
        'Register a version whose files another tool uploaded to {model}/archive/{version}/: compute checksums from the stored files, ' +
          'validate the model like push, and write metadata.json once.',
      )
      .argument('<model>', 'model id, e.g. etfs/SMH')
      .argument('<version>', 'the version folder name under {model}/archive/')
      .option(
        '--strategies <labels>',
        'comma-separated class labels in probabilities column order (if the uploaded metadata.json lacks them)',
      ),
  ).action(async (modelArg: string, versionArg: string, flags: RegisterFlags) =>
    run(flags, async ({ out, user, connect }) => {
      const model = parseModelId(modelArg);
      const version = parseVersion(versionArg);
      const strategies = flags.strategies
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const conn = await connect();
      const { metadata, validation } = await registerVersion(conn.runtime, {
        model,
        version,
        description: strategies ? { strategies } : undefined,
        by: user,
      });
      out.result(
        () =>
          [
            `Registered ${model}@${version} (${validation.features} features, ${validation.labels} labels)`,
            '',
            ...publishedVersionLines(model, version, metadata.artifacts),
          ].join('\n'),
        { model, version, validation, metadata },
      );
    }),
  );
}
