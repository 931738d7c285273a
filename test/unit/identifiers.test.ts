import { describe, expect, it } from 'vitest';
import { modelTypeOf, parseModelId, parseTicker, parseVersion } from '../../src/registry/identifiers';

describe('identifiers are parsed before they become keys', () => {
  it.each(['etfs/SMH', 'stocks/universal', 'universal/all_assets_classifier', 'ensembles/multi_asset_ensemble'])(
    'accepts %s',
    (id) => {
      expect(parseModelId(id)).toBe(id);
      expect(modelTypeOf(id)).toBeDefined();
    },
  );

  it.each([
    'etfs/../metadata',
    'etfs/SMH/production',
    'etfs/smh',
    'stocks/other',
    '/etfs/SMH',
    'etfs/',
    'x'.repeat(100),
    'universal/A B',
    'etfs/S\u0000MH',
  ])('rejects model id %j with BAD_USER_INPUT', (id) => {
    expect(() => parseModelId(id)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });

  it.each(['v1..2', '../v1', 'v1/x', '', '.hidden', 'v'.repeat(65), 'v1\n'])('rejects version %j', (v) => {
    expect(() => parseVersion(v)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });

  it('upper-cases tickers and rejects traversal', () => {
    expect(parseTicker(' spy ')).toBe('SPY');
    expect(parseTicker('brk.b')).toBe('BRK.B');
    for (const t of ['..', 'A..B', 'SPY/X', '', 'ÄPPLE', 'A'.repeat(13), 'ſpy', 'ｓｐｙ']) {
      expect(() => parseTicker(t)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    }
  });

  it('answers the same when asked again (the memo of tickers and model types), also past its size limit', () => {
    for (let round = 0; round < 2; round++) {
      expect(parseTicker(' spy ')).toBe('SPY');
      expect(parseTicker('SPY')).toBe('SPY');
      expect(() => parseTicker('A..B')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
      expect(() => parseTicker(42)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
      expect(modelTypeOf('etfs/SMH')).toBe('ETF_SPECIFIC');
      expect(modelTypeOf('etfs/smh')).toBeUndefined();
      expect(modelTypeOf('experimental/x')).toBe('EXPERIMENTAL');
    }
    // More distinct strings than the memo keeps: it starts over and every answer stays right.
    for (let i = 0; i < 5000; i++) {
      expect(parseTicker(`t${i}`)).toBe(`T${i}`);
      expect(modelTypeOf(`universal/m${i}`)).toBe('UNIVERSAL');
    }
    expect(parseTicker(' spy ')).toBe('SPY');
    expect(modelTypeOf('etfs/smh')).toBeUndefined();
    // A long string (a valid ticker padded with blanks; the memo keeps only short ones) is answered, and again.
    const padded = `SPY${' '.repeat(10_000)}`;
    expect(parseTicker(padded)).toBe('SPY');
    expect(parseTicker(padded)).toBe('SPY');
    expect(modelTypeOf(`universal/${'a'.repeat(10_000)}`)).toBeUndefined();
  });
});
