import type { Command } from 'commander';
import { BadUserInputError } from '../../errors';
import { agreementRate } from '../../inference/shadowTracker';
import { parseModelId } from '../../registry/identifiers';
import { TRAFFIC_OFF, type DeploymentRecord, type Traffic } from '../../registry/versionMetadata';
import { table } from '../io';
import { parseReason } from './deploy';
import { withCommonOptions, type CommandRunner, type CommonFlags } from '../program';

interface TrafficFlags extends CommonFlags {
  shadow?: boolean;
  canary?: number;
  reason?: string;
}

function parseShadow(v: string): boolean {
  const s = v.toLowerCase();
  if (s === 'on') return true;
  if (s === 'off') return false;
  throw new BadUserInputError(`--shadow must be on or off, not "${v}"`, { argument: 'shadow' });
}

/** A percentage from 0 to 100, written as a plain decimal number (an optional trailing "%" is allowed). */
function parseCanary(v: string): number {
  const text = v.endsWith('%') ? v.slice(0, -1) : v;
  const n = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 0 && n <= 100)) {
    throw new BadUserInputError(
      `--canary must be a percentage from 0 to 100, not "${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`,
      { argument: 'canary' },
    );
  }
  return n;
}

const onOff = (b: boolean) => (b ? 'on' : 'off');
const describeTraffic = (t: Traffic) => `shadow ${onOff(t.shadow)}, canary ${t.canary_percent}%`;

function describeChange(record: DeploymentRecord): string {
  return (
    `${record.model} production ${record.to}: ${describeTraffic(record.traffic ?? TRAFFIC_OFF)} ` +
    `(set by ${record.by}, generation ${record.generation}${record.reason ? `, reason: ${record.reason}` : ''})`
  );
}

export function addTrafficCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('traffic')
      .summary("show or set a model's shadow mode and canary percentage")
      .description(
        'Set shadow mode (every production prediction also runs the staging version) and/or the canary percentage (that share of ' +
          "tickers is served by staging) of a model's production: one compare-and-swap of its production pointer, recorded in the " +
          'history as TRAFFIC. Omitted settings stay. Without --shadow and --canary, show the current settings and the shadow ' +
          'agreement per pair of versions.',
      )
      .argument('<model>', 'model id, e.g. etfs/SPY')
      .option('--shadow <on|off>', 'turn shadow mode on or off', parseShadow)
      .option('--canary <percent>', 'share of tickers (0–100) served by the staging version', parseCanary)
      .option('--reason <text>', 'why (recorded in the history)'),
  ).action(async (modelArg: string, flags: TrafficFlags) =>
    run(flags, async ({ out, user, connect }) => {
      const model = parseModelId(modelArg);
      const reason = parseReason(flags.reason);
      const conn = await connect();
      const { registry, deployments, shadows } = conn.runtime;

      if (flags.shadow !== undefined || flags.canary !== undefined) {
        const { record } = await deployments.configureTraffic({
          model,
          shadow: flags.shadow,
          canaryPercent: flags.canary,
          by: user,
          reason,
        });
        out.result(describeChange(record), record);
        const staging = await registry.stagePointer(model, 'STAGING');
        const active = record.traffic && (record.traffic.shadow || record.traffic.canary_percent > 0);
        if (active && (!staging || staging.value.version === record.to)) {
          out.note(
            `${model} staging ${staging ? `serves the production version ${record.to}` : 'is not deployed'}: ` +
              'shadow and canary take effect once another version is promoted to staging.',
          );
        }
        out.note(
          'Running servers apply it within their POINTER_TTL_SECONDS (the server that made a change applies it at once).',
        );
        return;
      }

      if (reason !== null)
        throw new BadUserInputError('--reason is recorded with a change: give --shadow and/or --canary', {
          argument: 'reason',
        });
      await registry.requireModel(model);
      const [production, staging] = await Promise.all([
        registry.stagePointer(model, 'PRODUCTION'),
        registry.stagePointer(model, 'STAGING'),
      ]);
      const traffic = production?.value.traffic ?? TRAFFIC_OFF;
      const productionVersion = production?.value.version ?? null;
      const stagingVersion = staging?.value.version ?? null;
      const agreement = (await shadows.agreement(model, { productionVersion, stagingVersion })).map((p) => ({
        ...p,
        rate: agreementRate(p),
      }));
      out.result(
        () =>
          [
            `${model}  production: ${productionVersion ?? '(none)'}  staging: ${stagingVersion ?? '(none)'}`,
            describeTraffic(traffic),
            '',
            agreement.length === 0
              ? 'No shadow agreement recorded.'
              : table(
                  ['PRODUCTION', 'STAGING', 'ROWS', 'AGREEMENTS', 'RATE'],
                  agreement.map((a) => [
                    a.productionVersion,
                    a.stagingVersion,
                    String(a.rows),
                    String(a.agreements),
                    a.rate === null ? '-' : `${(a.rate * 100).toFixed(1)}%`,
                  ]),
                ),
          ].join('\n'),
        { model, production: productionVersion, staging: stagingVersion, traffic, shadowAgreement: agreement },
      );
    }),
  );
}
