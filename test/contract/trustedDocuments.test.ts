/**
 * TRUSTED_DOCUMENTS on the real local server (embedded S3): under enforce the
 * open /graphql route runs the documents of client/operations by id (the
 * persisted-documents `documentId`, POST and GET, and Apollo's
 * persistedQuery hash) and refuses anything else to anonymous callers with a
 * typed error; an authenticated principal is exempt. allow serves and logs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetModelDocument, ModelTrafficDocument } from '../../src/generated/client/graphql';
import { startTestStack, type TestStack } from '../support/stack';

const ROOT = join(import.meta.dirname, '../..');
const manifest = JSON.parse(
  readFileSync(join(ROOT, 'src/generated/client/persisted-documents.json'), 'utf8'),
) as Record<string, string>;
/** The id of the trusted document that holds operation `name`. */
const idOf = (name: string) =>
  Object.entries(manifest).find(([, text]) => new RegExp(`^(query|mutation) ${name}\\b`, 'm').test(text))![0];

async function post(stack: TestStack, body: unknown, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(stack.server.graphqlUrl, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, ...((await res.json()) as { data?: any; errors?: any[] }) };
}

describe('TRUSTED_DOCUMENTS=enforce', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ env: { TRUSTED_DOCUMENTS: 'enforce' } });
  }, 120_000);
  afterAll(() => stack?.close());

  it('runs a trusted document by documentId (POST), with variables', async () => {
    const res = await post(stack, { documentId: idOf('AssetModel'), variables: { ticker: 'SPY' } });
    expect(res.errors).toBeUndefined();
    expect(res.data.asset).toMatchObject({ ticker: 'SPY', model: { id: 'etfs/SPY' } });
  });

  it('runs one by documentId over GET, and by Apollo’s persistedQuery sha256Hash', async () => {
    const search = new URLSearchParams({
      documentId: idOf('ModelTraffic'),
      variables: JSON.stringify({ id: 'etfs/SPY' }),
    });
    const get = await fetch(`${stack.server.graphqlUrl}?${search}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    const body = (await get.json()) as { data?: any; errors?: unknown };
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    expect(body.data.model.id).toBe('etfs/SPY');

    const hash = idOf('AssetModel').slice('sha256:'.length);
    const apq = await post(stack, {
      variables: { ticker: 'QQQ' },
      extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
    });
    expect(apq.errors).toBeUndefined();
    expect(apq.data.asset.ticker).toBe('QQQ');
  });

  it('refuses any other query to an anonymous caller: TRUSTED_DOCUMENT_REQUIRED, 403, nothing run', async () => {
    const res = await post(stack, { query: '{ about { version } }' });
    expect(res.status).toBe(403);
    expect(res.data).toBeUndefined();
    expect(res.errors).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('TRUSTED_DOCUMENTS=enforce'),
        extensions: { code: 'TRUSTED_DOCUMENT_REQUIRED' },
      }),
    ]);
    // A mutation is refused before it runs: the pointer does not move.
    const before = await post(stack, { documentId: idOf('ModelTraffic'), variables: { id: 'etfs/SPY' } });
    const mutation = await post(stack, {
      query: 'mutation { configureTraffic(model: "etfs/SPY", shadow: true) { id } }',
    });
    expect(mutation.errors?.[0]?.extensions?.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
    const after = await post(stack, { documentId: idOf('ModelTraffic'), variables: { id: 'etfs/SPY' } });
    expect(after.data).toEqual(before.data);
  });

  it('refuses an unknown id: PERSISTED_QUERY_NOT_FOUND, 400', async () => {
    for (const body of [
      { documentId: `sha256:${'0'.repeat(64)}` },
      { extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } },
    ]) {
      const res = await post(stack, body);
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    }
  });

  it('serves the exact text of a trusted document, and any query of an authenticated principal', async () => {
    const text = manifest[idOf('AssetModel')]!;
    const byText = await post(stack, { query: text, variables: { ticker: 'SPY' } });
    expect(byText.errors).toBeUndefined();
    const authenticated = await post(stack, { query: '{ about { version } }' }, stack.server.writeToken);
    expect(authenticated.errors).toBeUndefined();
    expect(authenticated.data.about.version).toMatch(/^\d+\.\d+\.\d+/);
    // A wrong token is not authenticated: still refused.
    const wrong = await post(stack, { query: '{ about { version } }' }, 'not-a-token-0123456789');
    expect(wrong.errors?.[0]?.extensions?.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
  });

  it('serves a generated document as Apollo Client sends it (printed as written, __typename added)', async () => {
    const client = new ApolloClient({
      link: new HttpLink({ uri: stack.server.graphqlUrl }),
      cache: new InMemoryCache(),
    });
    const { data, error } = await client.query({ query: ModelTrafficDocument, variables: { id: 'etfs/SPY' } });
    expect(error).toBeUndefined();
    expect((data?.model?.traffic as { __typename?: string } | undefined)?.__typename).toBe('Traffic');
    // The same document asking one field more is not trusted.
    const more = print(AssetModelDocument).replace('ticker\n', 'ticker\n    sector\n');
    expect(more).not.toBe(print(AssetModelDocument));
    const res = await post(stack, { query: more, variables: { ticker: 'SPY' } });
    expect(res.errors?.[0]?.extensions?.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
    expect(parse(more)).toBeTruthy();
  });

  it('GraphiQL says on its page how to use it under enforce', async () => {
    const html = await (await fetch(stack.server.url)).text();
    expect(html).toContain('TRUSTED_DOCUMENTS=enforce');
  });
});

describe('TRUSTED_DOCUMENTS=allow and off', () => {
  it('allow serves any query and logs it by hash; off serves it silently; both resolve documentId', async () => {
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const writeErr = process.stderr.write.bind(process.stderr);
    const capture = (chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    };
    for (const mode of ['allow', 'off'] as const) {
      const stack = await startTestStack({ env: { TRUSTED_DOCUMENTS: mode } });
      try {
        lines.length = 0;
        process.stdout.write = capture as typeof process.stdout.write;
        process.stderr.write = capture as typeof process.stderr.write;
        let res;
        try {
          res = await post(stack, { query: 'query Untrusted { about { version } }', operationName: 'Untrusted' });
        } finally {
          process.stdout.write = write;
          process.stderr.write = writeErr;
        }
        expect(res.errors).toBeUndefined();
        const logged = lines.filter((l) => l.includes('untrusted document served'));
        if (mode === 'allow') {
          expect(logged).toHaveLength(1);
          expect(logged[0]).toContain('"operationName":"Untrusted"');
          expect(logged[0]).not.toContain('about');
        } else expect(logged).toEqual([]);
        const byId = await post(stack, { documentId: idOf('AssetModel'), variables: { ticker: 'SPY' } });
        expect(byId.data.asset.ticker).toBe('SPY');
      } finally {
        await stack.close();
      }
    }
  }, 120_000);
});
