import { Kind, type GraphQLScalarType, type ValueNode } from 'graphql';
import { BadUserInputError } from '../errors';

/**
 * The `Base64` scalar's behaviour (its name and description live in the SDL,
 * see resolvers/index.ts on why a scalar resolver must not carry them): a
 * base64 string in, bytes (a Buffer) to resolvers; bytes or a string out.
 */
export const base64Behaviour = {
  serialize: (value: unknown): string => {
    if (typeof value === 'string') return value;
    if (value instanceof Uint8Array)
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    throw new TypeError('Base64 serializes bytes (Uint8Array) or a base64 string');
  },
  parseValue: (value: unknown): Buffer => decodeBase64(value),
  parseLiteral: (ast: ValueNode): Buffer => decodeBase64(ast.kind === Kind.STRING ? ast.value : undefined),
} as unknown as GraphQLScalarType;

/**
 * Strict base64 (standard or URL-safe alphabet, padding optional): Node's
 * decoder skips characters outside the alphabet, so a string is accepted only
 * when it decodes to exactly the bytes its length says — no scan of the text,
 * which for a 10,000-row matrix is megabytes long.
 */
export function decodeBase64(value: unknown): Buffer {
  if (typeof value !== 'string') throw new BadUserInputError('Base64 takes a base64 string');
  let chars = value.length;
  if (value.endsWith('==')) chars -= 2;
  else if (value.endsWith('=')) chars -= 1;
  if (chars % 4 === 1 || (value.length !== chars && value.length % 4 !== 0))
    throw new BadUserInputError(`not valid base64 (length ${value.length})`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== Math.floor((chars * 3) / 4))
    throw new BadUserInputError('not valid base64 (a character outside the base64 alphabet)');
  return bytes;
}
