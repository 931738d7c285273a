import * as z from 'zod';
import { BadUserInputError, ConflictError } from '../errors';
import {
  listAssets,
  parseAssetRegistry,
  type Asset,
  type AssetKind,
  type AssetRegistryDocument,
} from './assetRegistry';
import { ASSET_REGISTRY_KEY } from './bucketLayout';
import { retryCompareAndSwap } from './compareAndSwap';
import { isExperimentalModel, ModelIdSchema, parseArguments, TickerSchema } from './identifiers';
import type { Registry } from './registry';
import { replacing } from '../storage/objectStore';

const printable = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'control characters are not allowed');

const EXPERIMENTAL_MESSAGE =
  'an asset may not use an experimental model (experimental/…): experimental models are never served';

/**
 * A request to add or update one asset of `metadata/asset_registry.json`.
 * For name, sector, status and usesModel: undefined keeps the stored value,
 * null removes it.
 */
export const AssetRegistrationSchema = z.object({
  ticker: TickerSchema,
  kind: z.enum(['ETF', 'STOCK']),
  name: printable(200).nullish(),
  sector: printable(100).nullish(),
  status: z
    .string()
    .regex(/^[a-z][a-z0-9_\-]{0,31}$/, 'a status is 1–32 lower-case letters, digits, "_" or "-", e.g. active')
    .nullish(),
  /** Serve the asset with this model instead of its default (own ETF model / stocks/universal). */
  usesModel: ModelIdSchema.refine((id) => !isExperimentalModel(id), EXPERIMENTAL_MESSAGE).nullish(),
});
export type AssetRegistration = z.infer<typeof AssetRegistrationSchema>;

export function parseAssetRegistration(raw: unknown): AssetRegistration {
  return parseArguments(AssetRegistrationSchema, raw);
}

export interface RegisterAssetOptions {
  /** Read-modify-write attempts before giving up with CONFLICT (default 10). */
  maxAttempts?: number;
  now?: () => Date;
}

export interface RegisterAssetResult {
  asset: Asset;
  /** Whether the ticker was new (false: an existing entry was updated). */
  created: boolean;
  /** Conditional writes it took (1 without contention). */
  attempts: number;
}

const EMPTY_REGISTRY = (): AssetRegistryDocument => ({ etfs: {}, stocks: { supported_tickers: {} } });

/**
 * Adds or updates one asset without losing a concurrent change to the registry:
 * read it with its ETag, apply the change, PutObject If-Match that ETag
 * (If-None-Match: * when there is no registry yet); on 412 re-read and re-apply,
 * with jittered backoff, at most `maxAttempts` times, then CONFLICT. The process
 * that wrote serves the new registry at once.
 */
export async function registerAsset(
  registry: Registry,
  reg: AssetRegistration,
  opts: RegisterAssetOptions = {},
): Promise<RegisterAssetResult> {
  if (reg.usesModel && isExperimentalModel(reg.usesModel))
    throw new BadUserInputError(`Invalid usesModel: ${EXPERIMENTAL_MESSAGE}`, { argument: 'usesModel' });
  if (reg.usesModel) await registry.requireModel(reg.usesModel);
  const maxAttempts = opts.maxAttempts ?? 10;
  const store = registry.store;
  return retryCompareAndSwap(
    maxAttempts,
    async (attempt) => {
      const current = await store.getIfExists(ASSET_REGISTRY_KEY);
      const doc = current ? parseAssetRegistry(current.body) : EMPTY_REGISTRY();
      const created = !doc.etfs[reg.ticker] && !doc.stocks.supported_tickers[reg.ticker];
      const next = applyAssetRegistration(doc, reg, (opts.now ?? (() => new Date()))());
      const body = JSON.stringify(next, null, 2);
      const { etag } = await store.put(ASSET_REGISTRY_KEY, body, {
        contentType: 'application/json',
        ...replacing(current?.etag),
      });
      const written = parseAssetRegistry(Buffer.from(body));
      registry.noteWritten(ASSET_REGISTRY_KEY, { value: written, etag });
      const asset = listAssets(written).find((a) => a.ticker === reg.ticker)!;
      return { asset, created, attempts: attempt };
    },
    () => {
      registry.forget(ASSET_REGISTRY_KEY);
      return new ConflictError(
        `metadata/asset_registry.json kept changing while ${reg.ticker} was being registered (${maxAttempts} attempts); nothing was changed by this call — retry`,
        { ticker: reg.ticker },
      );
    },
  );
}

/**
 * The registry with one asset added or updated (pure; the input is not
 * modified). Unknown fields of the document and of the entry are kept. An ETF
 * gets `model_path: etfs/{T}/production/` unless it names `uses_model`.
 */
export function applyAssetRegistration(
  doc: AssetRegistryDocument,
  reg: AssetRegistration,
  now: Date,
): AssetRegistryDocument {
  const next: AssetRegistryDocument = structuredClone(doc);
  const other = reg.kind === 'ETF' ? next.stocks.supported_tickers[reg.ticker] : next.etfs[reg.ticker];
  if (other) {
    const was: AssetKind = reg.kind === 'ETF' ? 'STOCK' : 'ETF';
    throw new BadUserInputError(
      `${reg.ticker} is registered as ${was === 'ETF' ? 'an ETF' : 'a stock'}, not ${reg.kind === 'ETF' ? 'an ETF' : 'a stock'}`,
      {
        argument: 'kind',
      },
    );
  }
  const section: Record<string, Record<string, unknown>> = reg.kind === 'ETF'
    ? next.etfs
    : next.stocks.supported_tickers;
  const entry: Record<string, unknown> = { ...(section[reg.ticker] ?? { status: 'active' }) };
  const set = (field: string, value: string | null | undefined) => {
    if (value === null) delete entry[field];
    else if (value !== undefined) entry[field] = value;
  };
  set('name', reg.name);
  set('sector', reg.sector);
  set('status', reg.status);
  set('uses_model', reg.usesModel);
  if (!entry.status) entry.status = 'active';
  if (reg.kind === 'ETF' && !entry.uses_model && !entry.model_path) entry.model_path = `etfs/${reg.ticker}/production/`;
  section[reg.ticker] = entry;
  next.last_updated = now.toISOString();
  listAssets(next); // every entry must still name a valid model id
  return next;
}
