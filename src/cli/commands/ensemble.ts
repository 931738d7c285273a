import { Option, type Command } from 'commander';
import { BadUserInputError } from '../../errors';
import { ModelIdSchema, parseModelId, parseVersion, VersionSchema } from '../../registry/identifiers';
import type { VotingMethod } from '../../registry/versionMetadata';
import { MAX_ENSEMBLE_MEMBERS, parseEnsembleRegistration, splitMemberRef } from '../../release/registerEnsemble';
import { table } from '../io';
import { VERSION_FIELDS, type VersionView } from '../operations';
import { withCommonOptions, type CommandRunner, type CommonFlags } from '../program';

interface EnsembleFlags extends CommonFlags {
  version: string;
  member: string[];
  voting: VotingMethod;
  description?: string;
}

/** One `--member` value, parsed: the model, its version (null = the one production serves now) and its weight. */
export interface MemberSpec {
  model: string;
  version: string | null;
  weight: number;
}

const MEMBER_SYNTAX = '<modelId>[@<version>]=<weight>, e.g. etfs/SPY@v1.1.0=0.5 or stocks/universal=0.3';
/** A plain decimal number (no hex, no blanks, no Infinity): what Number() accepts beyond it is not a weight. */
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function badMember(raw: string, why: string): BadUserInputError {
  const shown = JSON.stringify(raw.length > 120 ? `${raw.slice(0, 120)}…` : raw);
  return new BadUserInputError(`--member ${shown}: ${why} (expected ${MEMBER_SYNTAX})`, {
    argument: 'member',
    value: raw.slice(0, 200),
  });
}

/** `<modelId>[@<version>]=<weight>`, strictly: every part is checked before anything is read or written. */
export function parseMemberSpec(raw: string): MemberSpec {
  const eq = raw.lastIndexOf('=');
  if (eq < 0) throw badMember(raw, 'no "=<weight>"');
  const weightText = raw.slice(eq + 1);
  const { model, version } = splitMemberRef(raw.slice(0, eq));
  if (model === '') throw badMember(raw, 'no model id');
  const modelOk = ModelIdSchema.safeParse(model);
  if (!modelOk.success) throw badMember(raw, `"${model}" is not a model id (${modelOk.error.issues[0]?.message})`);
  if (version !== null) {
    const versionOk = VersionSchema.safeParse(version);
    if (!versionOk.success)
      throw badMember(raw, `"${version}" is not a version (${versionOk.error.issues[0]?.message})`);
  }
  const weight = DECIMAL.test(weightText) ? Number(weightText) : Number.NaN;
  if (!Number.isFinite(weight) || weight <= 0)
    throw badMember(raw, `the weight "${weightText}" is not a positive number`);
  return { model, version, weight };
}

function votingOption(): Option {
  return new Option('--voting <method>', 'soft (weighted mean of probabilities) or hard (weighted majority of labels)')
    .makeOptionMandatory()
    .argParser((v: string): VotingMethod => {
      const m = v.toLowerCase();
      if (m !== 'soft' && m !== 'hard')
        throw new BadUserInputError(`--voting must be soft or hard, not "${v}"`, { argument: 'voting' });
      return m;
    });
}

export function addEnsembleCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('ensemble')
      .summary('publish a version of an ensemble (weighted vote over classifiers)')
      .description(
        'Publish a version of an ensemble ensembles/{name}: its members (each pinned to an exact version; without @version, the one ' +
          'its production serves now), their weights and the voting method, registered through the API (mutation registerEnsemble), ' +
          'which writes them once into ensembles/{name}/archive/{version}/. ' +
          'Members must be classifiers sharing one label set (INVALID_MODEL otherwise). Promote it like any model.',
      )
      .argument('<ensemble>', 'ensemble id, e.g. ensembles/multi_asset_ensemble')
      .requiredOption('--version <version>', 'the new version, e.g. v1.1.0')
      .requiredOption(
        '--member <spec>',
        `a member, ${MEMBER_SYNTAX} (repeat: 1–${MAX_ENSEMBLE_MEMBERS} members)`,
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      )
      .addOption(votingOption())
      .option('--description <text>', 'stored in metadata.json (at most 2,000 characters)'),
  ).action(async (ensembleArg: string, flags: EnsembleFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(ensembleArg);
      const version = parseVersion(flags.version);
      const specs = flags.member.map(parseMemberSpec);
      // Checked here first, so a wrong command line is a usage error before anything is sent.
      const reg = parseEnsembleRegistration({
        model,
        version,
        members: specs,
        voting: flags.voting,
        description: flags.description,
      });
      const { registerEnsemble: registered } = await api().request<{ registerEnsemble: VersionView }>(
        `mutation RegisterEnsemble($model: ID!, $version: String!, $members: [EnsembleMemberInput!]!, $voting: VotingMethod!, $description: String) {
          registerEnsemble(model: $model, version: $version, members: $members, voting: $voting, description: $description) { ${VERSION_FIELDS} }
        }`,
        {
          model,
          version,
          members: specs.map((m) => ({ model: m.model, version: m.version, weight: m.weight })),
          voting: reg.voting.toUpperCase(),
          description: flags.description,
        },
      );
      const members = registered.ensemble?.members ?? [];
      out.result(
        () =>
          [
            `Registered ${model}@${version} (${reg.voting} vote of ${members.length} member${members.length === 1 ? '' : 's'}, ` +
              `${registered.featureNames.length} features, ${registered.labels.length} labels)`,
            '',
            table(
              ['MEMBER', 'VERSION', 'WEIGHT'],
              members.map((m, i) => [
                m.model.id,
                specs[i]?.version ? m.version : `${m.version} (production now)`,
                String(m.weight),
              ]),
            ),
            '',
            `Next: modelgraph promote ${model} ${version} --stage staging`,
          ].join('\n'),
        { model, version, registered },
      );
    }),
  );
}
