import { Command, CommanderError, Option } from 'commander';
import { BadUserInputError, ModelgraphError } from '../errors';
import { ApiClient, CliError, resolveApi, type ApiFlags } from './api';
import type { Stage } from '../registry/identifiers';
import { MODELGRAPH_VERSION } from '../version';
import { addAssetCommand } from './commands/asset';
import { addDeployCommands } from './commands/deploy';
import { addEnsembleCommand } from './commands/ensemble';
import { addGovernanceCommands } from './commands/governance';
import { addListCommand } from './commands/list';
import { addPushCommand } from './commands/push';
import { addRegisterCommand } from './commands/register';
import { addDatasetCommand } from './commands/dataset';
import { addDemoFolderCommand } from './commands/demoFolder';
import { addEvaluateCommand } from './commands/evaluate';
import { addTokenCommand } from './commands/token';
import { addTrafficCommand } from './commands/traffic';
import { connect, type Connection, type ConnectionFlags } from './connection';
import { Output, type CliIo } from './io';

/** Exit codes: 0 success, 1 the operation failed (the error code is printed), 2 the command line is wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CommonFlags extends ConnectionFlags, ApiFlags {
  json?: boolean;
}

/** What every command's action gets: output, the GraphQL API, and a bucket connection opened on demand. */
export interface CommandContext {
  io: CliIo;
  out: Output;
  /** The GraphQL API (--api / --token): every change goes through it, so the server checks and records the principal. */
  api(): ApiClient;
  /** Opens the bucket connection (push's upload, ls); closed when the command ends. */
  connect(): Promise<Connection>;
}

export type CommandRunner = (flags: CommonFlags, action: (ctx: CommandContext) => Promise<void>) => Promise<void>;

/** Adds the options every command takes: where the API and the bucket are, and --json. */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option(
      '--api <url>',
      "the GraphQL API that makes every change; default MODELGRAPH_API_URL, or the running local server's (from its data folder)",
    )
    .option(
      '--token <token>',
      "a principal's token; default MODELGRAPH_TOKEN, or for the local server found in its data folder, its admin token ({data folder}/admin-token)",
    )
    .option(
      '--endpoint <url>',
      "S3 endpoint for push's upload and ls; default S3_ENDPOINT, or the local server's embedded S3",
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
      'Ship, promote, roll back, approve and list Modelgraph models. Every change is a GraphQL mutation of the API, which checks ' +
        "the principal's scopes, approvals and promotion policies and records the principal as `by`: --api / MODELGRAPH_API_URL " +
        'with --token / MODELGRAPH_TOKEN; with neither, the running local server (`npm start`) found through its data folder ' +
        '(MODELGRAPH_DATA_DIR, default ./.modelgraph) and its admin token ({data folder}/admin-token). Without a reachable API ' +
        'a change fails (SERVER_UNAVAILABLE); the CLI never writes stage pointers to the bucket. push uploads the version files ' +
        'write-once to the bucket (MODEL_BUCKET / S3_ENDPOINT / AWS_REGION or --bucket / --endpoint / --region; by default the ' +
        "local server's) and the API registers them; ls reads the bucket.",
    )
    .version(MODELGRAPH_VERSION, '-V, --version', 'print the modelgraph version')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  addPushCommand(program, run);
  addRegisterCommand(program, run);
  addDeployCommands(program, run);
  addGovernanceCommands(program, run);
  addEnsembleCommand(program, run);
  addTrafficCommand(program, run);
  addDatasetCommand(program, run);
  addEvaluateCommand(program, run);
  addListCommand(program, run);
  addAssetCommand(program, run);
  addTokenCommand(program, run);
  addDemoFolderCommand(program, run);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
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
      let api: ApiClient | undefined;
      await action({
        io,
        out,
        api: () => (api ??= new ApiClient(resolveApi(flags, io))),
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
    const code = printError(io, json, err);
    return code === 'BAD_USER_INPUT' ? EXIT_USAGE : EXIT_FAILED;
  }
}

/** A policy rule a promotion broke, as POLICY_VIOLATION's `extensions.violations` lists them. */
interface Violation {
  rule?: unknown;
  required?: unknown;
  actual?: unknown;
}

const show = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));

/** Prints `error CODE: message` (a POLICY_VIOLATION's violations one a line), or with --json `{"error":{…}}`; answers the code. */
function printError(io: CliIo, json: boolean, err: unknown): string {
  const known = err instanceof ModelgraphError || err instanceof CliError;
  const code = known ? err.code : 'INTERNAL_ERROR';
  const message = err instanceof Error ? err.message : String(err);
  const details = known ? err.details : {};
  if (json) {
    io.stderr.write(`${JSON.stringify({ error: { ...details, code, message } })}\n`);
    return code;
  }
  io.stderr.write(`error ${code}: ${message}\n`);
  const violations = Array.isArray(details.violations) ? (details.violations as Violation[]) : [];
  for (const v of violations) {
    io.stderr.write(`  ${show(v.rule)}: required ${show(v.required)}, actual ${show(v.actual)}\n`);
  }
  return code;
}
