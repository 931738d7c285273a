/**
 * The client-friendly schema against the real local server on the embedded S3
 * server: every Node's id fetches the same object again through node(id:),
 * Model.id stays the bucket prefix, and each connection pages through exactly
 * what its deprecated list answers, with stable cursors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let admin: string;

beforeAll(async () => {
  stack = await startTestStack();
  admin = stack.server.writeToken;
}, 120_000);
afterAll(() => stack?.close());

async function ok<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string) {
  const res = await stack.gql<T>(query, variables, { token });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!;
}

/** Every page of a connection, following endCursor. */
async function allPages(query: string, pick: (data: any) => any, variables: Record<string, unknown> = {}) {
  const nodes: any[] = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const conn = pick(await ok(query, { ...variables, after }));
    nodes.push(...conn.edges.map((e: any) => e.node));
    expect(conn.pageInfo.hasPreviousPage).toBe(after !== null);
    if (!conn.pageInfo.hasNextPage) return nodes;
    expect(conn.pageInfo.endCursor).toBe(conn.edges.at(-1).cursor);
    after = conn.pageInfo.endCursor;
  }
  throw new Error('more than 100 pages');
}

describe('global ids and node(id:)', () => {
  it('every Node type answers an id that node(id:) resolves to the same object', async () => {
    // Prepare: an alias and a policy exist, so every Node type has an instance.
    await ok(`mutation { setAlias(model: "etfs/SPY", alias: "champion", version: "v1.0.0") { id } }`, {}, admin);
    await ok(`mutation { setPromotionPolicy(model: "etfs/SPY", policy: { minShadowRows: 10 }) { id } }`, {}, admin);
    const data = await ok(`{
      asset(ticker: "SPY") { __typename id ticker }
      model(id: "etfs/SPY") {
        __typename id
        production { __typename id version approval { __typename id status } }
        historyConnection(first: 1) { edges { node { __typename id } } }
        alias(name: "champion") { __typename id name }
        policy { __typename id generation }
      }
    }`);
    const m = data.model;
    const objects = [
      data.asset,
      m,
      m.production,
      m.production.approval,
      m.historyConnection.edges[0].node,
      m.alias,
      m.policy,
    ];
    expect(new Set(objects.map((o) => o.__typename)).size).toBe(7);
    // Act
    const { nodes } = await ok(`query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`, {
      ids: objects.map((o) => o.id),
    });
    // Assess
    expect(nodes).toEqual(objects.map((o) => ({ __typename: o.__typename, id: o.id })));
    expect(new Set(objects.map((o) => o.id)).size).toBe(objects.length);
    for (const o of objects.filter((x) => x.__typename !== 'Model')) expect(o.id).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('Model.id stays the bucket prefix and Deployment.id its UUID; node(id:) resolves both', async () => {
    const data = await ok(`{
      node(id: "etfs/SPY") { __typename id ... on Model { type } }
      deployments(model: "etfs/SPY", first: 1) { id deploymentId toVersion }
      recentDeployments(first: 1) { id }
    }`);
    expect(data.node).toEqual({ __typename: 'Model', id: 'etfs/SPY', type: 'ETF_SPECIFIC' });
    const [latest] = data.deployments;
    expect(latest.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(latest.deploymentId).toBe(latest.id);
    const { node } = await ok(`query($id: ID!) { node(id: $id) { __typename id ... on Deployment { toVersion } } }`, {
      id: latest.id,
    });
    expect(node).toEqual({ __typename: 'Deployment', id: latest.id, toVersion: latest.toVersion });
    const unknown = await ok(`{ node(id: "00000000-0000-4000-8000-000000000000") { id } }`);
    expect(unknown.node).toBeNull();
  });

  it('a well-formed id of something gone is null; anything else is BAD_USER_INPUT', async () => {
    const gone = Buffer.from('Version:etfs/SPY|v9.9.9').toString('base64url');
    expect(await ok(`query($id: ID!) { node(id: $id) { id } }`, { id: gone })).toEqual({ node: null });
    expect(await ok(`{ node(id: "etfs/NOPE") { id } }`)).toEqual({ node: null });
    for (const id of ['', 'not an id', Buffer.from('Secret:x').toString('base64url')]) {
      const res = await stack.gql(`query($id: ID!) { node(id: $id) { id } }`, { id });
      expect(res.errors?.[0]?.extensions?.code, id).toBe('BAD_USER_INPUT');
    }
  });
});

describe('cursor connections answer what the deprecated lists answer', () => {
  it('assets, a model’s assets and versions', async () => {
    const list = await ok(`{ assets { ticker } model(id: "stocks/universal") { assets { ticker } } }`);
    const paged = await allPages(
      `query($after: String) { assetsConnection(first: 3, after: $after) { edges { cursor node { ticker } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`,
      (d) => d.assetsConnection,
    );
    expect(paged).toEqual(list.assets);
    const served = await allPages(
      `query($after: String) { model(id: "stocks/universal") { assetsConnection(first: 2, after: $after) { edges { cursor node { ticker } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }`,
      (d) => d.model.assetsConnection,
    );
    expect(served).toEqual(list.model.assets);
    const versions = await ok(`{ model(id: "etfs/SPY") { versions(first: 200) { version } } }`);
    const pagedVersions = await allPages(
      `query($after: String) { model(id: "etfs/SPY") { versionsConnection(first: 1, after: $after) { edges { cursor node { version } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }`,
      (d) => d.model.versionsConnection,
    );
    expect(pagedVersions).toEqual(versions.model.versions);
    expect(pagedVersions.length).toBeGreaterThan(1);
  });

  it('history, deployments and recent deployments; a cursor stays valid when a newer deployment arrives', async () => {
    for (let i = 0; i < 3; i++)
      await ok(
        `mutation($s: Boolean) { configureTraffic(model: "etfs/SPY", shadow: $s, reason: "page test") { id } }`,
        { s: i % 2 === 0 },
        admin,
      );
    const list = await ok(`{ deployments(model: "etfs/SPY", first: 500) { id } }`);
    const query = `query($after: String) { model(id: "etfs/SPY") { historyConnection(first: 2, after: $after) {
      totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }`;
    expect(await allPages(query, (d) => d.model.historyConnection)).toEqual(list.deployments);
    const byQuery = await allPages(
      `query($after: String) { deploymentsConnection(model: "etfs/SPY", first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`,
      (d) => d.deploymentsConnection,
    );
    expect(byQuery).toEqual(list.deployments);

    // A page's endCursor names a deployment, not an offset: a newer deployment does not repeat items.
    const first = (await ok(query, { after: null })).model.historyConnection;
    await ok(`mutation { configureTraffic(model: "etfs/SPY", shadow: false, reason: "newer") { id } }`, {}, admin);
    const next = (await ok(query, { after: first.pageInfo.endCursor })).model.historyConnection;
    expect(next.edges[0].node.id).toBe(list.deployments[2].id);

    const recent = await ok(`{ recentDeployments(first: 500) { id } }`);
    const recentPaged = await allPages(
      `query($after: String) { recentDeploymentsConnection(first: 7, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`,
      (d) => d.recentDeploymentsConnection,
    );
    expect(recentPaged).toEqual(recent.recentDeployments);
  });

  it('performance series and their days', async () => {
    const { asset } = await ok(`{ asset(ticker: "SPY") { model { production { version labels } } } }`);
    const { version, labels } = asset.model.production;
    const days = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-05'];
    const outcomes = days.map((d, i) => ({
      ticker: 'SPY',
      version,
      predicted: labels[0],
      realized: labels[i % 2],
      at: `${d}T15:00:00.000Z`,
    }));
    await ok(
      `mutation($o: [OutcomeInput!]!) { recordOutcomes(batchId: "conn-1", outcomes: $o) { recorded } }`,
      { o: outcomes },
      admin,
    );
    const list = await ok(`{ performance(ticker: "SPY") { model { id } version daily { date predictions correct } } }`);
    const series = await allPages(
      `query($after: String) { performanceConnection(ticker: "SPY", first: 1, after: $after) { edges { cursor node { model { id } version } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`,
      (d) => d.performanceConnection,
    );
    expect(series).toEqual(list.performance.map(({ model, version }: any) => ({ model, version })));
    const daily = await allPages(
      `query($after: String) { performanceConnection(ticker: "SPY") { edges { node { dailyConnection(first: 3, after: $after) { edges { cursor node { date predictions correct } } pageInfo { hasNextPage hasPreviousPage endCursor } } } } } }`,
      (d) => d.performanceConnection.edges[0].node.dailyConnection,
    );
    expect(daily).toEqual(list.performance[0].daily);
    expect(daily.map((d: any) => d.date)).toEqual(days);
  });
});
