import * as z from 'zod';
import { BadUserInputError } from '../errors';

/**
 * Builds the validator for one model's inputs: exactly its feature names, each a
 * finite number. The error names every offending feature (never its value).
 */
/**
 * Validates one request's features and answers them in input-column order:
 * written into `row` when one is given (`featureNames.length` long, e.g. a
 * view on the batch's matrix, so a 10,000-row batch makes no 10,000 arrays),
 * else into a new array. On an error `row` may hold part of the values.
 */
export type FeatureValidator = (features: unknown, where?: string, row?: Float32Array) => Float32Array;

export function featureValidator(featureNames: readonly string[]): FeatureValidator {
  const shape: Record<string, z.ZodNumber> = {};
  for (const name of featureNames) shape[name] = z.number().finite();
  const schema = z.strictObject(shape);
  const width = featureNames.length;

  return (features, where, into) => {
    // Fast path (a predictMany of 10,000 rows validates 10,000 objects): a plain
    // object whose own keys are exactly the feature names, each a finite number,
    // is what the schema accepts. Anything else goes through the schema, which
    // decides and names the offending features.
    const fast = exactFiniteRow(features, featureNames, into);
    if (fast) return fast;
    const result = schema.safeParse(features);
    if (!result.success) throw featureError(result.error, features, featureNames, where);
    const row = into ?? new Float32Array(width);
    const values = result.data as Record<string, number>;
    for (let i = 0; i < width; i++) row[i] = values[featureNames[i]];
    return row;
  };
}

/**
 * The row in input-column order if `features` is a plain object whose own keys
 * are exactly the feature names, each a finite number; else undefined (and the
 * schema decides). Keys in feature-name order (what clients send) are matched by
 * position; Object.keys stays fast for dictionary-mode objects (null-prototype
 * objects from GraphQL literals), where Object.values and zod's lookups are slow.
 */
function exactFiniteRow(
  features: unknown,
  featureNames: readonly string[],
  into: Float32Array | undefined,
): Float32Array | undefined {
  if (typeof features !== 'object' || features === null || Array.isArray(features)) return undefined;
  const proto = Object.getPrototypeOf(features);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const given = features as Record<string, unknown>;
  const width = featureNames.length;
  const keys = Object.keys(given);
  if (keys.length !== width) return undefined;
  const row = into ?? new Float32Array(width);
  for (let i = 0; i < width; i++) {
    const key = keys[i];
    if (key !== featureNames[i]) return exactFiniteRowByName(given, featureNames, row);
    const value = given[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
    row[i] = value;
  }
  return row;
}

/** Same, for keys in another order: `given` has exactly `featureNames.length` own keys, so all names present means no others. */
function exactFiniteRowByName(
  given: Record<string, unknown>,
  featureNames: readonly string[],
  row: Float32Array,
): Float32Array | undefined {
  for (let i = 0; i < featureNames.length; i++) {
    const name = featureNames[i];
    if (!Object.hasOwn(given, name)) return undefined;
    const value = given[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
    row[i] = value;
  }
  return row;
}

function featureError(
  error: z.ZodError,
  features: unknown,
  featureNames: readonly string[],
  where?: string,
): BadUserInputError {
  const prefix = where ? `${where}: ` : '';
  if (typeof features !== 'object' || features === null || Array.isArray(features)) {
    return new BadUserInputError(`${prefix}features must be an object of feature name → number`, {
      invalidFeatures: [],
    });
  }
  const given = features as Record<string, unknown>;
  const missing = featureNames.filter((n) => !Object.hasOwn(given, n));
  const known = new Set(featureNames);
  const unknown = Object.keys(given).filter((n) => !known.has(n));
  const nonFinite = featureNames.filter(
    (n) => Object.hasOwn(given, n) && !(typeof given[n] === 'number' && Number.isFinite(given[n])),
  );
  const parts: string[] = [];
  if (missing.length) parts.push(`missing ${list(missing)}`);
  if (unknown.length) parts.push(`unknown ${list(unknown)}`);
  if (nonFinite.length) parts.push(`not a finite number: ${list(nonFinite)}`);
  if (!parts.length) parts.push(error.issues[0]?.message ?? 'invalid');
  return new BadUserInputError(`${prefix}invalid features (${parts.join('; ')})`, {
    invalidFeatures: [...missing, ...unknown, ...nonFinite].slice(0, 200),
    missingFeatures: missing.slice(0, 200),
    unknownFeatures: unknown.slice(0, 200),
    nonFiniteFeatures: nonFinite.slice(0, 200),
  });
}

function list(names: string[]): string {
  const shown = names.slice(0, 10).map((n) => (n.length > 64 ? `${n.slice(0, 64)}…` : n));
  return shown.join(', ') + (names.length > 10 ? ` and ${names.length - 10} more` : '');
}
