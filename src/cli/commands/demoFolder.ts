import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { BadUserInputError } from '../../errors';
import { demoDescription, demoVersionFiles } from '../../local/demoSeed';
import { type CommandRunner, type CommonFlags } from '../program';

interface DemoFolderFlags extends CommonFlags {
  seed: string;
  accuracy: string;
}

/**
 * `modelgraph demo-folder DIR`: writes a version folder (a generated
 * TreeEnsembleClassifier over the demo's 84 features and 10 strategies,
 * feature_names.json, metadata.json) that `push` accepts for any demo model —
 * so the governed release can be tried on day one without a trained model.
 */
export function addDemoFolderCommand(program: Command, run: CommandRunner): void {
  program
    .command('demo-folder')
    .summary('write a demo version folder to try push with (a generated model, not trained on market data)')
    .argument('<dir>', 'the folder to create (must be empty or absent)')
    .option('--seed <n>', 'generator seed: another seed, another model', '7')
    .option('--accuracy <x>', 'the accuracy metadata.json states (0–1)', '0.61')
    .option('--json', 'print one JSON document (for scripts) instead of text')
    .action(async (dir: string, flags: DemoFolderFlags) =>
      run(flags, async ({ io, out }) => {
        const seed = Number(flags.seed);
        const accuracy = Number(flags.accuracy);
        if (!Number.isInteger(seed) || seed < 0) throw new BadUserInputError('--seed must be a non-negative integer');
        if (!(accuracy >= 0 && accuracy <= 1)) throw new BadUserInputError('--accuracy must be from 0 to 1');
        const path = resolve(io.cwd, dir);
        await mkdir(path, { recursive: true });
        if ((await readdir(path)).length > 0) throw new BadUserInputError(`${path} is not empty`);
        const files = {
          ...demoVersionFiles(seed),
          'metadata.json': Buffer.from(
            JSON.stringify({ ...demoDescription({ accuracy, created: new Date().toISOString() }) }, null, 2),
          ),
        };
        for (const [name, bytes] of Object.entries(files)) await writeFile(join(path, name), bytes);
        out.result(
          `Wrote ${Object.keys(files).join(', ')} to ${path}; push it with: modelgraph push ${dir} --model MODEL --version VERSION`,
          {
            path,
            files: Object.keys(files),
          },
        );
      }),
    );
}
