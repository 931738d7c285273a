import type { GraphQLFormattedError } from 'graphql';
import { ModelgraphError } from '../errors';

/**
 * Turns every error into a client-safe one with `extensions.code`. Domain errors
 * keep their message and details; GraphQL's own (parse, validation, variable
 * coercion) keep Apollo's codes; anything else is an internal error whose
 * message is masked in production. Stack traces never reach the client.
 */
export function createFormatError(opts: { maskInternal: boolean; onInternalError?: (err: unknown) => void }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrap(error);
    if (original instanceof ModelgraphError) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { ...original.details, code: original.code },
      };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') {
      const { stacktrace: _drop, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    opts.onInternalError?.(original);
    return {
      message: opts.maskInternal ? 'Internal server error' : formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

/** The error a resolver threw, out of GraphQL's wrapper (duck-typed: graphql may be loaded twice, ESM and CJS). */
function unwrap(error: unknown): unknown {
  let current = error;
  for (let i = 0; i < 5; i++) {
    const inner = (current as { originalError?: unknown } | null)?.originalError;
    if (!inner || inner === current) break;
    current = inner;
  }
  return current;
}
