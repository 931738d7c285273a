import * as z from 'zod';
import { InvalidModelError } from '../errors';
import { ASSET_REGISTRY_KEY } from './bucketLayout';
import { parseJsonDocument } from './versionMetadata';
import { modelTypeOf, ModelType } from './identifiers';

/**
 * `metadata/asset_registry.json`, in the original design's shape:
 * `etfs.{T}` entries and `stocks.supported_tickers.{T}`, with the universal stock
 * model named by `stocks.model_info`. Unknown fields are kept (passthrough) so a
 * registry written by other tools survives our read-modify-write.
 */
const EtfEntrySchema = z.looseObject({
  name: z.string().optional(),
  sector: z.string().optional(),
  status: z.string().optional(),
  model_path: z.string().optional(),
  /** Serve this asset with another model id, e.g. "universal/all_assets_classifier". */
  uses_model: z.string().optional(),
});

const StockEntrySchema = z.looseObject({
  name: z.string().optional(),
  sector: z.string().optional(),
  status: z.string().optional(),
  uses_model: z.string().optional(),
});

export const AssetRegistrySchema = z.looseObject({
  etfs: z.record(z.string(), EtfEntrySchema).default({}),
  stocks: z
    .looseObject({
      model_info: z.looseObject({ model_path: z.string().optional(), status: z.string().optional() }).optional(),
      supported_tickers: z.record(z.string(), StockEntrySchema).default({}),
    })
    .default({ supported_tickers: {} }),
  last_updated: z.string().optional(),
});
export type AssetRegistryDocument = z.infer<typeof AssetRegistrySchema>;

export type AssetKind = 'ETF' | 'STOCK';

/** A ticker resolved to the model that serves it. */
export interface Asset {
  ticker: string;
  kind: AssetKind;
  name: string | null;
  sector: string | null;
  status: string;
  /** The model id (bucket prefix) that serves this asset. */
  modelId: string;
  modelType: ModelType;
}

export const UNIVERSAL_STOCK_MODEL = 'stocks/universal';

/** `etfs/SMH/production/` → `etfs/SMH`. */
export function modelIdFromPath(path: string): string {
  return path.replace(/^\/+|\/+$/g, '').replace(/\/(production|staging)$/, '');
}

/** `metadata/asset_registry.json` as stored; not JSON or the wrong shape is INVALID_MODEL. */
export function parseAssetRegistry(body: Buffer): AssetRegistryDocument {
  return parseJsonDocument(AssetRegistrySchema, body, ASSET_REGISTRY_KEY);
}

function checkedModelId(id: string, ticker: string): string {
  const type = modelTypeOf(id);
  if (!type) {
    throw new InvalidModelError(`asset_registry.json maps ${ticker} to "${id}", which is not a model id`, { ticker });
  }
  if (type === ModelType.EXPERIMENTAL) {
    throw new InvalidModelError(
      `asset_registry.json maps ${ticker} to the experimental model "${id}"; experimental models are never served`,
      { ticker },
    );
  }
  return id;
}

/** All assets of the registry, ETFs first, each with the model that serves it. */
export function listAssets(doc: AssetRegistryDocument): Asset[] {
  const out: Asset[] = [];
  for (const [ticker, e] of Object.entries(doc.etfs)) {
    const modelId = checkedModelId(
      e.uses_model ?? (e.model_path ? modelIdFromPath(e.model_path) : `etfs/${ticker}`),
      ticker,
    );
    out.push({
      ticker,
      kind: 'ETF',
      name: e.name ?? null,
      sector: e.sector ?? null,
      status: e.status ?? 'active',
      modelId,
      modelType: modelTypeOf(modelId)!,
    });
  }
  const universal = doc.stocks.model_info?.model_path
    ? modelIdFromPath(doc.stocks.model_info.model_path)
    : UNIVERSAL_STOCK_MODEL;
  for (const [ticker, e] of Object.entries(doc.stocks.supported_tickers)) {
    if (doc.etfs[ticker]) continue; // an ETF entry wins; listed once
    const modelId = checkedModelId(e.uses_model ?? universal, ticker);
    out.push({
      ticker,
      kind: 'STOCK',
      name: e.name ?? null,
      sector: e.sector ?? null,
      status: e.status ?? 'active',
      modelId,
      modelType: modelTypeOf(modelId)!,
    });
  }
  return out;
}
