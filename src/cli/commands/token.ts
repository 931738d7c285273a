import type { Command } from 'commander';
import { LocalPrincipals, parseScopes, PRINCIPALS_FILE } from '../../local/principals';
import { CliError, dataDirOf } from '../api';
import { table } from '../io';
import { type CommandRunner, type CommonFlags } from '../program';

interface TokenAddFlags extends CommonFlags {
  scope: string;
}

const jsonOption = (cmd: Command) => cmd.option('--json', 'print one JSON document (for scripts) instead of text');

/**
 * `modelgraph token add|list|remove`: the local server's named principals, in
 * {data folder}/principals.json. File operations only (no server needed); a
 * running server sees a change at its next request.
 */
export function addTokenCommand(program: Command, run: CommandRunner): void {
  const token = program
    .command('token')
    .summary("manage the local server's principals (named tokens with scopes)")
    .description(
      `Manage the local server's principals in {data folder}/${PRINCIPALS_FILE} (MODELGRAPH_DATA_DIR, default ./.modelgraph): ` +
        'a name, its scopes and the sha256 of its token (never the token). Every change a principal makes is recorded with its ' +
        'name as `by`. Scopes: models:write (push, register, promote, roll back, tags, aliases, traffic, assets) and ' +
        'models:approve (approve, reject, promotion policy, policy overrides). A running server sees changes at once. ' +
        "(On AWS, principals are the identity provider's JWT subjects.)",
    );

  jsonOption(
    token
      .command('add')
      .summary('create a principal and print its token once')
      .argument('<name>', 'the principal, e.g. ci-bot or alice (a-z, 0-9, "_", "." or "-", starting with a letter)')
      .requiredOption('--scope <scopes>', 'comma-separated scopes: models:write, models:approve'),
  ).action(async (name: string, flags: TokenAddFlags) =>
    run(flags, async ({ io, out }) => {
      const scopes = parseScopes(flags.scope);
      const dataDir = dataDirOf(io);
      const secret = new LocalPrincipals(dataDir).add(name, scopes);
      out.result(
        () =>
          [
            `Created principal ${name} (${scopes.join(', ')}) in ${dataDir}/${PRINCIPALS_FILE}`,
            '',
            `  ${secret}`,
            '',
            'This token will not be shown again: store it now (only its sha256 is kept). Use it with',
            `  export MODELGRAPH_TOKEN=${secret}`,
          ].join('\n'),
        { name, scopes, token: secret },
      );
    }),
  );

  jsonOption(token.command('list').summary('list the principals (never their tokens)')).action(
    async (flags: CommonFlags) =>
      run(flags, async ({ io, out }) => {
        const principals = new LocalPrincipals(dataDirOf(io)).list();
        out.result(
          () =>
            principals.length === 0
              ? `No principals in ${dataDirOf(io)} yet: the local server creates admin on its first start.`
              : table(
                  ['NAME', 'SCOPES', 'CREATED'],
                  principals.map((p) => [p.name, p.scopes.join(','), p.createdAt.replace('T', ' ').slice(0, 19)]),
                ),
          { principals },
        );
      }),
  );

  jsonOption(
    token.command('remove').summary('remove a principal: its token stops working').argument('<name>', 'the principal'),
  ).action(async (name: string, flags: CommonFlags) =>
    run(flags, async ({ io, out }) => {
      if (!new LocalPrincipals(dataDirOf(io)).remove(name))
        throw new CliError('PRINCIPAL_NOT_FOUND', `There is no principal named "${name}" (see modelgraph token list)`, {
          name,
        });
      out.result(`Removed principal ${name}: its token no longer works.`, { removed: name });
    }),
  );
}
