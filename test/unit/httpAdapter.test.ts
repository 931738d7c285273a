import { describe, expect, it } from 'vitest';
import { bodyText } from '../../src/local/httpAdapter';

describe('bodyText (request bodies of the local server)', () => {
  it('reads an ASCII body as the same text (the latin1 fast path)', () => {
    const text = JSON.stringify({
      query: '{ about { version } }',
      variables: { rowsF32: 'AAAAAA+/==', s: 'a\\u00e9' },
    });
    expect(bodyText(Buffer.from(text, 'utf8'))).toBe(text);
    expect(JSON.parse(bodyText(Buffer.from(text)))).toEqual(JSON.parse(text));
  });

  it('decodes UTF-8 when a byte is not ASCII', () => {
    for (const text of ['{"ticker":"Ä"}', '{"s":"é – ✓ 𝄞"}', 'ÿ'])
      expect(bodyText(Buffer.from(text, 'utf8'))).toBe(text);
    // Invalid UTF-8 decodes as Buffer#toString('utf8') does (U+FFFD), never as latin1.
    expect(bodyText(Buffer.from([0x7b, 0xff, 0x7d]))).toBe('{\ufffd}');
  });
});
