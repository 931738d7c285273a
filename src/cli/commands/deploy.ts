import type { Command } from 'commander';
import { BadUserInputError } from '../../errors';
import { parseModelId, parseVersion, type Stage } from '../../registry/identifiers';
import type { DeploymentRecord } from '../../registry/versionMetadata';
import { parseReason as parseDomainReason } from '../../registry/reason';
import { DEPLOYMENT_FIELDS, deploymentRecord, type DeploymentView } from '../operations';
import { stageOption, withCommonOptions, type CommandRunner, type CommonFlags } from '../program';

interface DeployFlags extends CommonFlags {
  stage: Stage;
  reason?: string;
  to?: string;
  override?: boolean;
}

/** `--reason`: the domain's rule (src/registry/reason.ts), named as the flag (shared by every command taking one). */
export function parseReason(reason: string | undefined): string | null {
  return parseDomainReason(reason, '--reason');
}

function describe(record: DeploymentRecord): string {
  const verb =
    record.action === 'PROMOTE' ? (record.override ? 'promoted with a policy override' : 'promoted') : 'rolled back';
  return [
    `${record.model} ${record.stage.toLowerCase()}: ${record.from ?? '(none)'} → ${record.to} ` +
      `(${verb} by ${record.by}, generation ${record.generation}${record.reason ? `, reason: ${record.reason}` : ''})`,
    ...(record.violations ?? []).map((v) => `  overridden ${v.rule}: required ${v.required}, actual ${v.actual}`),
  ].join('\n');
}

/** Servers that did not make the change follow the pointer after their TTL. */
const STALENESS_NOTE =
  'Running servers serve it within their POINTER_TTL_SECONDS (the server that made a change serves it at once).';

export function addDeployCommands(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('promote')
      .summary('point production (or --stage staging) at a version')
      .description(
        'Point a stage (production by default) at a published version through the API (mutation promote): compare-and-swap on the ' +
          'stage pointer (CONFLICT if it moved meanwhile), recorded with the principal as `by`. A promotion to production must ' +
          "satisfy the model's promotion policy (POLICY_VIOLATION lists the broken rules, one a line) unless --override.",
      )
      .argument('<model>', 'model id, e.g. etfs/SMH')
      .argument('<version>', 'a published version, e.g. v1.3')
      .addOption(stageOption())
      .option('--reason <text>', 'why (recorded in the history)')
      .option(
        '--override',
        "promote to production despite the model's promotion policy (needs models:approve and --reason; recorded with the broken rules)",
      ),
  ).action(async (modelArg: string, versionArg: string, flags: DeployFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(modelArg);
      const version = parseVersion(versionArg);
      const reason = parseReason(flags.reason);
      if (flags.override && reason === null)
        throw new BadUserInputError('--override needs a --reason (it is recorded with the rules it overrides)', {
          argument: 'reason',
        });
      const { promote } = await api().request<{ promote: DeploymentView }>(
        `mutation Promote($model: ID!, $version: String!, $stage: Stage, $reason: String, $override: Boolean) {
          promote(model: $model, version: $version, stage: $stage, reason: $reason, override: $override) { ${DEPLOYMENT_FIELDS} }
        }`,
        { model, version, stage: flags.stage, reason, override: flags.override === true },
      );
      const record = deploymentRecord(promote);
      out.result(describe(record), record);
      out.note(STALENESS_NOTE);
    }),
  );

  withCommonOptions(
    program
      .command('rollback')
      .summary('return production (or --stage staging) to its previous version')
      .description(
        'Return a stage (production by default) to the version it served before the current one (from its history), or to --to.',
      )
      .argument('<model>', 'model id, e.g. etfs/SMH')
      .option('--to <version>', 'the version to return to (default: the one served before the current one)')
      .addOption(stageOption())
      .option('--reason <text>', 'why (recorded in the history)'),
  ).action(async (modelArg: string, flags: DeployFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(modelArg);
      const to = flags.to === undefined ? null : parseVersion(flags.to);
      const reason = parseReason(flags.reason);
      const { rollback } = await api().request<{ rollback: DeploymentView }>(
        `mutation Rollback($model: ID!, $to: String, $stage: Stage, $reason: String) {
          rollback(model: $model, to: $to, stage: $stage, reason: $reason) { ${DEPLOYMENT_FIELDS} }
        }`,
        { model, to, stage: flags.stage, reason },
      );
      const record = deploymentRecord(rollback);
      out.result(describe(record), record);
      out.note(STALENESS_NOTE);
    }),
  );
}
