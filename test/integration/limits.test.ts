import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';

async function post(
  stack: TestStack,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  const res = await fetch(stack.server.graphqlUrl, { method: 'POST', headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

describe('hostile queries are refused before they run', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ env: { MAX_BODY_BYTES: '65536', MAX_PREDICT_BATCH: '20', MAX_TOKENS: '2000' } });
  });
  afterAll(() => stack?.close());

  it('limits depth', async () => {
    let q = 'id';
    for (let i = 0; i < 8; i++) q = `versions { model { ${q} } }`;
    const res = await stack.gql(`{ model(id: "etfs/SPY") { ${q} } }`);
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0].message).toMatch(/depth/i);
  });

  it('limits aliases', async () => {
    const aliases = Array.from({ length: 101 }, (_, i) => `a${i}: about { version }`).join(' ');
    const res = await stack.gql(`{ ${aliases} }`);
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0].message).toMatch(/alias/i);
  });

  it('limits directives', async () => {
    const directives = Array.from({ length: 21 }, () => '@include(if: true)').join(' ');
    const res = await stack.gql(`{ about ${directives} { version } }`);
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0].message).toMatch(/directive/i);
  });

  it('limits tokens', async () => {
    const fields = Array.from({ length: 2_100 }, () => 'version').join(' ');
    const res = await stack.gql(`{ about { ${fields} } }`);
    expect(res.status).toBe(400);
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(res.errors?.[0].message).toMatch(/more that 2000 tokens/);
  });

  it('refuses an oversized body with 413', async () => {
    const res = await post(stack, JSON.stringify({ query: `{ about { version } }`, padding: 'x'.repeat(70_000) }));
    expect(res.status).toBe(413);
    expect(res.json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses batched HTTP operations', async () => {
    const res = await post(
      stack,
      JSON.stringify([{ query: '{ about { version } }' }, { query: '{ about { bucket } }' }]),
    );
    expect(res.status).toBe(400);
  });

  it('bounds predictMany batch size', async () => {
    const requests = Array.from({ length: 21 }, () => ({ ticker: 'SPY', features: {} }));
    const res = await stack.gql(`query($r: [PredictionRequest!]!) { predictMany(requests: $r) { strategy } }`, {
      r: requests,
    });
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0].message).toContain('at most 20');
  });

  it('answers malformed JSON with 400, not a crash', async () => {
    const res = await post(stack, '{"query": "{ about { version } }"');
    expect(res.status).toBe(400);
    const after = await stack.gql('{ about { version } }');
    expect(after.data?.about.version).toBeTruthy();
  });

  it('blocks CSRF-able requests (simple content type without a preflight header)', async () => {
    const res = await post(stack, 'query={ about { version } }', { 'content-type': 'text/plain' });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/CSRF/i);
    const get = await fetch(`${stack.server.graphqlUrl}?query=${encodeURIComponent('{ about { version } }')}`);
    expect(get.status).toBe(400);
  });

  it('does not run mutations over GET', async () => {
    const q = encodeURIComponent('mutation { rollback(model: "etfs/SPY") { toVersion } }');
    const res = await fetch(`${stack.server.graphqlUrl}?query=${q}`, {
      headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${stack.server.writeToken}` },
    });
    expect(res.status).toBe(405);
  });
});
