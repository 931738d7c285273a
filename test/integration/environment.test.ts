import { afterEach, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';

describe('per-environment switches', () => {
  let stack: TestStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('serves GraphiQL at / by default', async () => {
    stack = await startTestStack({ seed: false });
    const res = await fetch(stack.server.url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>Modelgraph</title>');
  });

  it('GRAPHIQL=false turns the page off and leaves GraphQL on', async () => {
    stack = await startTestStack({ seed: false, env: { GRAPHIQL: 'false' } });
    const page = await fetch(stack.server.url);
    expect(page.status).toBe(404);
    const about = await stack.gql('{ about { version } }');
    expect(about.data?.about.version).toBeTruthy();
  });

  it('rejects an invalid switch value at start-up with a clear message', async () => {
    await expect(startTestStack({ seed: false, env: { GRAPHIQL: 'maybe' } })).rejects.toThrow(/GRAPHIQL/);
  });
});
