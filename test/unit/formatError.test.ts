import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors';
import { createFormatError } from '../../src/graphql/errors';

function resolverError(original: Error): GraphQLError {
  return new GraphQLError(original.message, { originalError: original, path: ['promote'] });
}

describe('formatError', () => {
  it('keeps a domain error message and puts its code and details in extensions', () => {
    // Prepare
    const format = createFormatError({ maskInternal: true });
    const err = resolverError(new ConflictError('moved', { model: 'etfs/SPY' }));
    // Act
    const out = format({ message: err.message, path: ['promote'] }, err);
    // Assess
    expect(out).toEqual({
      message: 'moved',
      path: ['promote'],
      locations: undefined,
      extensions: { code: 'CONFLICT', model: 'etfs/SPY' },
    });
  });

  it('masks internal errors in production and reports them to the hook', () => {
    const seen: unknown[] = [];
    const format = createFormatError({ maskInternal: true, onInternalError: (e) => seen.push(e) });
    const original = new Error('ECONNREFUSED 10.0.0.7:443 secret=abc');
    const out = format(
      { message: original.message, extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] } },
      resolverError(original),
    );
    expect(out.message).toBe('Internal server error');
    expect(out.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(seen).toEqual([original]);
  });

  it('keeps internal messages outside production but never a stack trace', () => {
    const format = createFormatError({ maskInternal: false });
    const out = format(
      { message: 'boom', extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] } },
      resolverError(new Error('boom')),
    );
    expect(out.message).toBe('boom');
    expect(out.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });

  it("keeps GraphQL's own error codes (validation, parsing) without stack traces", () => {
    const format = createFormatError({ maskInternal: true });
    const out = format(
      { message: 'Cannot query field "x"', extensions: { code: 'GRAPHQL_VALIDATION_FAILED', stacktrace: ['s'] } },
      new GraphQLError('x'),
    );
    expect(out.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
  });
});
