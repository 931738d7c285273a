import { userInfo } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { BadUserInputError, ModelgraphError } from '../errors';
import type { Stage } from '../registry/identifiers';
import { MODELGRAPH_VERSION } from '../version';
import { addAssetCommand } from './commands/asset';
import { addDeployCommands } from './commands/deploy';
import { addEnsembleCommand } from './commands/ensemble';
import { addListCommand } from './commands/list';
import { addPushCommand } from './commands/push';
import { addRegisterCommand } from './commands/register';
import { addTrafficCommand } from './commands/traffic';
import { connect, type Connection, type ConnectionFlags } from './connection';
import { Output, type CliIo } from './io';

/** Exit codes: 0 success, 1 the operation failed (the error code is printed), 2 the command line is wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CommonFlags extends ConnectionFlags {
  json?: boolean;
}

/** What every command's action gets: output, identity, and a connection opened on demand. */
export interface CommandContext {
  io: CliIo;
  out: Output;
  /** Recorded as `by` of deployments and `published_by` of versions. */
  user: string;
  /** Opens the bucket connection; closed when the command ends. */
  connect(): Promise<Connection>;
}

export type CommandRunner = (flags: CommonFlags, action: (ctx: CommandContext) => Promise<void>) => Promise<void>;

/** `$MODELGRAPH_USER`, else the OS user. */
export function cliUser(io: CliIo): string {
  const raw = io.env.MODELGRAPH_USER?.trim() || safeOsUser() || 'unknown';
  if (raw.length > 100 || /[\u0000-\u001f\u007f]/.test(raw))
    throw new BadUserInputError('MODELGRAPH_USER must be at most 100 printable characters');
  return raw;
}

function safeOsUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** Adds the options every command takes: where the bucket is, and --json. */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option(
      '--endpoint <url>',
      "S3 endpoint (S3-compatible server); default S3_ENDPOINT, or the local server's embedded S3",
    )
    .option('--bucket <name>', "model bucket; default MODEL_BUCKET, or the local server's bucket when unset")
    .option('--region <region>', 'AWS region; default AWS_REGION or us-east-1')
    .option('--json', 'print one JSON document (for scripts) instead of text');
}

export function stageOption(): Option {
  return new Option('--stage <stage>', 'production or staging')
    .default('PRODUCTION', 'production')
    .argParser((v: string): Stage => {
      const s = v.toUpperCase();
      if (s !== 'PRODUCTION' && s !== 'STAGING')
        throw new BadUserInputError(`--stage must be production or staging, not "${v}"`, { argument: 'stage' });
      return s;
    });
}

/** The `modelgraph` program, writing to `io`. */
export function buildProgram(io: CliIo, run: CommandRunner): Command {
  const program = new Command('modelgraph')
    .description(
      'Ship, promote, roll back and list Modelgraph models. Talks to the model bucket directly: MODEL_BUCKET / S3_ENDPOINT / AWS_REGION ' +
        '(or --bucket / --endpoint / --region); with no bucket configured, the bucket of the running local server (`npm start`).',
    )
    .version(MODELGRAPH_VERSION, '-V, --version', 'print the modelgraph version')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  addPushCommand(program, run);
  addRegisterCommand(program, run);
  addDeployCommands(program, run);
  addEnsembleCommand(program, run);
  addTrafficCommand(program, run);
  addListCommand(program, run);
  addAssetCommand(program, run);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/**
 * Runs `modelgraph <argv…>` and answers the exit code (never calls
 * process.exit). Errors are printed as `error CODE: message` on stderr, or with
 * --json as `{"error":{"code","message"}}`.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let json = argv.includes('--json');
  const run: CommandRunner = async (flags, action) => {
    json = flags.json === true;
    const out = new Output(io, json);
    const opened: Connection[] = [];
    try {
      await action({
        io,
        out,
        user: cliUser(io),
        connect: async () => {
          const c = await connect(flags, io);
          opened.push(c);
          return c;
        },
      });
    } finally {
      for (const c of opened) c.close();
    }
  };
  const program = buildProgram(io, run);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return EXIT_OK;
      // An argParser's own error (e.g. --stage) arrives wrapped; commander has printed its message.
      return EXIT_USAGE;
    }
    printError(io, json, err);
    return err instanceof BadUserInputError ? EXIT_USAGE : EXIT_FAILED;
  }
}

function printError(io: CliIo, json: boolean, err: unknown): void {
  const code = err instanceof ModelgraphError ? err.code : 'INTERNAL_ERROR';
  const message = err instanceof Error ? err.message : String(err);
  if (json) {
    const details = err instanceof ModelgraphError ? err.details : {};
    io.stderr.write(`${JSON.stringify({ error: { ...details, code, message } })}\n`);
  } else {
    io.stderr.write(`error ${code}: ${message}\n`);
  }
}
