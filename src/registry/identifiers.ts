import * as z from 'zod';
import { BadUserInputError } from '../errors';

/**
 * Everything a client sends that ends up in an S3 key is parsed here first:
 * no `..`, no slashes where none belong, no control characters, bounded length.
 */

/** Upper-case exchange symbol, e.g. SPY, BRK.B, BF-B. */
export const TickerSchema = z
  .string()
  .trim()
  // ASCII only: String#toUpperCase maps e.g. "ſ" (long s) to "S", so "ſpy" would be served as SPY.
  .transform((t) => t.replace(/[a-z]/g, (c) => c.toUpperCase()))
  .pipe(
    z
      .string()
      .regex(
        /^[A-Z0-9][A-Z0-9.\-]{0,11}$/,
        'a ticker is 1–12 letters, digits, "." or "-", starting with a letter or digit',
      )
      .refine((t) => !t.includes('..'), 'a ticker may not contain ".."'),
  );

const familyName = /^[a-z0-9][a-z0-9_\-]{0,63}$/;

export const ModelType = {
  ETF_SPECIFIC: 'ETF_SPECIFIC',
  STOCK_UNIVERSAL: 'STOCK_UNIVERSAL',
  UNIVERSAL: 'UNIVERSAL',
  ENSEMBLE: 'ENSEMBLE',
  /** `experimental/{name}`: listed and versioned, promoted to staging at most, never served to production callers. */
  EXPERIMENTAL: 'EXPERIMENTAL',
} as const;
export type ModelType = (typeof ModelType)[keyof typeof ModelType];

/** A model id is its bucket prefix: etfs/SMH, stocks/universal, universal/{name}, ensembles/{name}, experimental/{name}. */
export const ModelIdSchema = z
  .string()
  .max(80)
  .refine((id) => modelTypeOf(id) !== undefined, {
    message:
      'a model id is etfs/{TICKER}, stocks/universal, universal/{name}, ensembles/{name} or experimental/{name} (name: a-z, 0-9, "_", "-")',
  });

/** A version folder name: v1.2.0, 2026-11-27, rc_3 … */
export const VersionSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$/,
    'a version is 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit',
  )
  .refine((v) => !v.includes('..'), 'a version may not contain ".."');

export const Stage = { PRODUCTION: 'PRODUCTION', STAGING: 'STAGING' } as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

export function modelTypeOf(id: string): ModelType | undefined {
  // Called per answered row (Prediction.model, .modelType): remembered, since
  // the zod ticker check costs microseconds and a request names few models.
  const known = modelTypes.get(id);
  if (known !== undefined || modelTypes.has(id)) return known;
  const type = modelTypeOfUncached(id);
  remember(modelTypes, id, type);
  return type;
}

/**
 * Most distinct strings a memo of this module keeps; it starts over when full.
 * Only short strings are kept (ids and tickers are at most 80 characters), so
 * hostile input can neither grow a memo nor make it hold a long string.
 */
const MEMO_LIMIT = 4096;
const MEMO_KEY_MAX_LENGTH = 100;
const modelTypes = new Map<string, ModelType | undefined>();
const tickers = new Map<string, string>();

function remember<V>(memo: Map<string, V>, key: string, value: V): void {
  if (key.length > MEMO_KEY_MAX_LENGTH) return;
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
}

function modelTypeOfUncached(id: string): ModelType | undefined {
  const [family, name, ...rest] = id.split('/');
  if (rest.length > 0 || name === undefined) return undefined;
  switch (family) {
    case 'etfs': {
      // The ticker as written, not as TickerSchema would normalise it: "etfs/SPY\n"
      // or "etfs/spy" must not become a key.
      const ticker = TickerSchema.safeParse(name);
      return ticker.success && ticker.data === name ? ModelType.ETF_SPECIFIC : undefined;
    }
    case 'stocks':
      return name === 'universal' ? ModelType.STOCK_UNIVERSAL : undefined;
    case 'universal':
      return familyName.test(name) ? ModelType.UNIVERSAL : undefined;
    case 'ensembles':
      return familyName.test(name) ? ModelType.ENSEMBLE : undefined;
    case 'experimental':
      return familyName.test(name) ? ModelType.EXPERIMENTAL : undefined;
    default:
      return undefined;
  }
}

/** The top-level folders that hold models, in the bucket layout's order. */
export const MODEL_FAMILIES = ['etfs', 'stocks', 'universal', 'ensembles', 'experimental'] as const;

/** Whether a model id names an experimental model (`experimental/{name}`): never served to production callers. */
export function isExperimentalModel(id: string): boolean {
  return modelTypeOf(id) === ModelType.EXPERIMENTAL;
}

/**
 * Refuses to point the PRODUCTION stage of an experimental model (BAD_USER_INPUT);
 * staging is how experimental models are tried, and is allowed.
 */
export function assertStageAllowed(model: string, stage: Stage): void {
  if (stage === Stage.PRODUCTION && isExperimentalModel(model)) {
    throw new BadUserInputError(
      `${model} is an experimental model: it may be promoted to staging, never to production`,
      { model, stage },
    );
  }
}

/**
 * A sub-prefix of `shared/` to list: printable, at most 200 characters, no
 * leading slash and no "..". Empty means all of `shared/`.
 */
export const SharedPrefixSchema = z
  .string()
  .max(200, 'a shared prefix is at most 200 characters')
  .refine((p) => !/[\u0000-\u001f\u007f-\u009f]/.test(p), 'a shared prefix may not contain control characters')
  .refine((p) => !p.startsWith('/'), 'a shared prefix may not start with "/"')
  .refine((p) => !p.includes('..'), 'a shared prefix may not contain ".."');

function parseWith<T>(schema: z.ZodType<T>, what: string, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const shown =
      typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : typeof value;
    throw new BadUserInputError(`Invalid ${what} ${shown}: ${result.error.issues[0]?.message ?? 'invalid'}`, {
      argument: what,
    });
  }
  return result.data;
}

/** A ticker as served (trimmed, upper-cased); a valid one is remembered (predictMany parses one per row). */
export function parseTicker(v: unknown): string {
  if (typeof v === 'string') {
    const known = tickers.get(v);
    if (known !== undefined) return known;
  }
  const ticker = parseWith(TickerSchema, 'ticker', v);
  if (typeof v === 'string') remember(tickers, v, ticker);
  return ticker;
}
export const parseModelId = (v: unknown): string => parseWith(ModelIdSchema, 'model id', v);
export const parseVersion = (v: unknown): string => parseWith(VersionSchema, 'version', v);
export const parseSharedPrefix = (v: unknown): string => parseWith(SharedPrefixSchema, 'prefix', v);

/**
 * Mutation arguments parsed with `schema`; the first problem is BAD_USER_INPUT
 * naming its field path (e.g. "members.1.weight"), under `at` when given
 * (e.g. "outcomes[3].version").
 */
export function parseArguments<T>(schema: z.ZodType<T>, raw: unknown, at?: string): T {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = [...(at ? [at] : []), ...(issue?.path ?? []).map(String)].join('.') || 'input';
    throw new BadUserInputError(`Invalid ${field}: ${issue?.message ?? 'invalid'}`, { argument: field });
  }
  return result.data;
}
