import type { Command } from 'commander';
import { parseAssetRegistration, registerAsset } from '../../registry/assetRegistration';
import { withCommonOptions, type CommandRunner, type CommonFlags } from '../program';

interface AssetAddFlags extends CommonFlags {
  kind: string;
  name?: string;
  sector?: string;
  status?: string;
  usesModel?: string;
}

export function addAssetCommand(program: Command, run: CommandRunner): void {
  const asset = program
    .command('asset')
    .summary('manage the asset registry (which model serves which ticker)')
    .description('Manage metadata/asset_registry.json: which model serves which ticker.');
  withCommonOptions(
    asset
      .command('add')
      .summary('add or update an asset (ETF or stock)')
      .description(
        'Add an ETF or a stock to the asset registry, or update one. An ETF is served by etfs/{TICKER}, a stock by stocks/universal, ' +
          'unless --uses-model names another model. Concurrent changes to the registry are never lost.',
      )
      .argument('<ticker>', 'exchange ticker, e.g. XLE or AMD')
      .requiredOption('--kind <kind>', 'etf or stock')
      .option('--name <name>', 'human-readable name')
      .option('--sector <sector>', 'sector or category')
      .option('--status <status>', 'registry status (default active)')
      .option('--uses-model <id>', 'serve this asset with another model, e.g. universal/all_assets_classifier'),
  ).action(async (ticker: string, flags: AssetAddFlags) =>
    run(flags, async ({ out, connect }) => {
      const registration = parseAssetRegistration({
        ticker,
        kind: flags.kind.toUpperCase(),
        name: flags.name,
        sector: flags.sector,
        status: flags.status,
        usesModel: flags.usesModel,
      });
      const conn = await connect();
      const result = await registerAsset(conn.runtime.registry, registration);
      const a = result.asset;
      const deployed = await conn.runtime.registry.stagePointer(a.modelId, 'PRODUCTION');
      out.result(
        `${result.created ? 'Registered' : 'Updated'} ${a.ticker} (${a.kind === 'ETF' ? 'ETF' : 'stock'}${a.name ? `, ${a.name}` : ''}) → served by ${a.modelId}`,
        result,
      );
      if (!deployed)
        out.note(
          `${a.modelId} has no production version yet: predictions for ${a.ticker} answer MODEL_NOT_DEPLOYED until one is pushed and promoted.`,
        );
    }),
  );
}
