import type { Command } from 'commander';
import { BadUserInputError, ModelNotFoundError } from '../../errors';
import { parseModelId } from '../../registry/identifiers';
import { TRAFFIC_OFF, type DeploymentRecord, type Traffic } from '../../registry/versionMetadata';
import { table } from '../io';
import { DEPLOYMENT_FIELDS, deploymentRecord, trafficRecord, type DeploymentView } from '../operations';
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
          "tickers is served by staging) of a model's production through the API (mutation configureTraffic): one compare-and-swap " +
          'of its production pointer, recorded in the history as TRAFFIC with the principal as `by`. Omitted settings stay. Without --shadow and --canary, show the current settings and the shadow ' +
          'agreement per pair of versions.',
      )
      .argument('<model>', 'model id, e.g. etfs/SPY')
      .option('--shadow <on|off>', 'turn shadow mode on or off', parseShadow)
      .option('--canary <percent>', 'share of tickers (0–100) served by the staging version', parseCanary)
      .option('--reason <text>', 'why (recorded in the history)'),
  ).action(async (modelArg: string, flags: TrafficFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(modelArg);
      const reason = parseReason(flags.reason);
      const client = api();

      if (flags.shadow !== undefined || flags.canary !== undefined) {
        const { configureTraffic } = await client.request<{
          configureTraffic: DeploymentView & { model: { staging: { version: string } | null } };
        }>(
          `mutation ConfigureTraffic($model: ID!, $shadow: Boolean, $canary: Float, $reason: String) {
            configureTraffic(model: $model, shadow: $shadow, canaryPercent: $canary, reason: $reason) {
              ${DEPLOYMENT_FIELDS} model { staging { version } }
            }
          }`,
          { model, shadow: flags.shadow, canary: flags.canary, reason },
        );
        const record = deploymentRecord(configureTraffic);
        out.result(describeChange(record), record);
        const staging = configureTraffic.model.staging?.version ?? null;
        const active = record.traffic && (record.traffic.shadow || record.traffic.canary_percent > 0);
        if (active && (staging === null || staging === record.to)) {
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
      const { model: found } = await client.request<{
        model: {
          production: { version: string } | null;
          staging: { version: string } | null;
          traffic: { shadow: boolean; canaryPercent: number };
          shadowAgreement: Array<{
            productionVersion: string;
            stagingVersion: string;
            rows: number;
            agreements: number;
            rate: number | null;
          }>;
        } | null;
      }>(
        `query Traffic($model: ID!) {
          model(id: $model) {
            production { version } staging { version } traffic { shadow canaryPercent }
            shadowAgreement { productionVersion stagingVersion rows agreements rate }
          }
        }`,
        { model },
      );
      if (!found) throw new ModelNotFoundError(model);
      const traffic: Traffic = trafficRecord(found.traffic);
      const productionVersion = found.production?.version ?? null;
      const stagingVersion = found.staging?.version ?? null;
      const agreement = found.shadowAgreement;
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
