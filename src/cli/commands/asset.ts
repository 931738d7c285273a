import type { Command } from 'commander';
import { parseAssetRegistration } from '../../registry/assetRegistration';
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
          'unless --uses-model names another model. Sent to the API (mutation registerAsset); concurrent changes to the registry are never lost.',
      )
      .argument('<ticker>', 'exchange ticker, e.g. XLE or AMD')
      .requiredOption('--kind <kind>', 'etf or stock')
      .option('--name <name>', 'human-readable name')
      .option('--sector <sector>', 'sector or category')
      .option('--status <status>', 'registry status (default active)')
      .option('--uses-model <id>', 'serve this asset with another model, e.g. universal/all_assets_classifier'),
  ).action(async (ticker: string, flags: AssetAddFlags) =>
    run(flags, async ({ out, api }) => {
      // Checked here first, so a wrong command line is a usage error before anything is sent.
      const registration = parseAssetRegistration({
        ticker,
        kind: flags.kind.toUpperCase(),
        name: flags.name,
        sector: flags.sector,
        status: flags.status,
        usesModel: flags.usesModel,
      });
      const client = api();
      // Only for the message (Registered or Updated): the mutation itself handles both.
      const { asset: before } = await client.request<{ asset: { ticker: string } | null }>(
        `query Asset($ticker: String!) { asset(ticker: $ticker) { ticker } }`,
        { ticker: registration.ticker },
      );
      const { registerAsset: a } = await client.request<{
        registerAsset: {
          ticker: string;
          kind: 'ETF' | 'STOCK';
          name: string | null;
          sector: string | null;
          status: string;
          model: { id: string; production: { version: string } | null };
        };
      }>(
        `mutation RegisterAsset($ticker: String!, $kind: AssetKind!, $name: String, $sector: String, $status: String, $usesModel: ID) {
          registerAsset(ticker: $ticker, kind: $kind, name: $name, sector: $sector, status: $status, usesModel: $usesModel) {
            ticker kind name sector status model { id production { version } }
          }
        }`,
        {
          ticker: registration.ticker,
          kind: registration.kind,
          name: flags.name,
          sector: flags.sector,
          status: flags.status,
          usesModel: flags.usesModel,
        },
      );
      const created = before === null;
      out.result(
        `${created ? 'Registered' : 'Updated'} ${a.ticker} (${a.kind === 'ETF' ? 'ETF' : 'stock'}${a.name ? `, ${a.name}` : ''}) → served by ${a.model.id}`,
        { asset: a, created },
      );
      if (!a.model.production)
        out.note(
          `${a.model.id} has no production version yet: predictions for ${a.ticker} answer MODEL_NOT_DEPLOYED until one is pushed and promoted.`,
        );
    }),
  );
}
