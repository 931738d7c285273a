import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import { ASSET_REGISTRY_KEY } from '../../src/registry/bucketLayout';
import { registerAsset, parseAssetRegistration } from '../../src/registry/assetRegistration';
import { Registry } from '../../src/registry/registry';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { ObjectStore } from '../../src/storage/objectStore';
import { createS3Client } from '../../src/storage/s3Client';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { cliFor } from './support';

const NEW_STOCKS = ['PLTR', 'SNOW', 'SHOP', 'ROKU', 'COIN', 'HOOD'];
const NEW_ETFS = ['XLE', 'XLV', 'GLD', 'TLT'];

describe('registerAsset', () => {
  let stack: TestStack;
  const registryDocument = async () =>
    JSON.parse((await stack.server.runtime.store.get(ASSET_REGISTRY_KEY)).body.toString());

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.close());

  it('10 concurrent registrations of different tickers: none is lost, and each routes to its model', async () => {
    // Prepare
    const before = await registryDocument();
    const s3 = stack.server.s3!;
    s3.resetRequests();

    // Act
    const answers = await Promise.all([
      ...NEW_STOCKS.map((t) =>
        stack.gqlAsWriter(
          `mutation($t: String!) { registerAsset(ticker: $t, kind: STOCK, sector: "Technology") { ticker kind model { id } } }`,
          { t },
        ),
      ),
      ...NEW_ETFS.map((t) =>
        stack.gqlAsWriter(
          `mutation($t: String!) { registerAsset(ticker: $t, kind: ETF, name: $t, usesModel: "universal/all_assets_classifier") { ticker kind model { id } } }`,
          { t },
        ),
      ),
    ]);

    // Assess: every call succeeded …
    for (const a of answers) expect(a.errors).toBeUndefined();
    // … it was a real race: conditional writes lost and were re-applied …
    expect(s3.count({ method: 'PUT', key: ASSET_REGISTRY_KEY, status: 412 })).toBeGreaterThan(0);
    // … and the stored registry holds all ten, plus everything it held before.
    const after = await registryDocument();
    for (const t of NEW_STOCKS)
      expect(after.stocks.supported_tickers[t]).toEqual({ status: 'active', sector: 'Technology' });
    for (const t of NEW_ETFS)
      expect(after.etfs[t]).toEqual({ status: 'active', name: t, uses_model: 'universal/all_assets_classifier' });
    for (const t of Object.keys(before.etfs)) expect(after.etfs[t]).toEqual(before.etfs[t]);
    for (const t of Object.keys(before.stocks.supported_tickers))
      expect(after.stocks.supported_tickers[t]).toEqual(before.stocks.supported_tickers[t]);
    expect(after.stocks.model_info).toEqual(before.stocks.model_info);

    // Routing: stocks → stocks/universal, the ETFs → the model they name; all answer.
    const requests = [...NEW_STOCKS, ...NEW_ETFS].map((ticker, i) => ({
      ticker,
      features: featuresFor(DEMO_FEATURE_NAMES, i),
    }));
    const predicted = await stack.gql(
      `query($r: [PredictionRequest!]!) { predictMany(requests: $r) { ticker strategy model { id } } }`,
      { r: requests },
    );
    expect(predicted.errors).toBeUndefined();
    expect(
      predicted.data!.predictMany.map((p: { ticker: string; model: { id: string } }) => [p.ticker, p.model.id]),
    ).toEqual([
      ...NEW_STOCKS.map((t) => [t, 'stocks/universal']),
      ...NEW_ETFS.map((t) => [t, 'universal/all_assets_classifier']),
    ]);
  });

  it('re-applies its change on top of a registry changed by another process between its read and its write', async () => {
    // Prepare: a second process (own client, store, registry) races this one 20 times.
    const client = createS3Client({
      region: 'us-east-1',
      endpoint: stack.server.s3!.endpoint,
      credentials: EMBEDDED_S3_CREDENTIALS,
    });
    const elsewhere = new Registry(new ObjectStore(client, stack.server.runtime.bucket), {
      pointerTtlMs: 30_000,
      maxStaleMs: 0,
    });
    const tickers = Array.from({ length: 20 }, (_, i) => `R${i}`);

    // Act
    const results = await Promise.all(
      tickers.map((t, i) =>
        registerAsset(
          i % 2 ? elsewhere : stack.server.runtime.registry,
          parseAssetRegistration({ ticker: t, kind: 'STOCK' }),
        ),
      ),
    );
    client.destroy();

    // Assess
    const after = await registryDocument();
    for (const t of tickers) expect(after.stocks.supported_tickers[t]).toBeDefined();
    expect(results.some((r) => r.attempts > 1)).toBe(true);
  });

  it('gives up with CONFLICT after bounded attempts and writes nothing of its own', async () => {
    // Prepare: every conditional write of the registry fails as if someone else always won.
    const s3 = stack.server.s3!;
    s3.injectFault({
      match: (r) => r.method === 'PUT' && r.key === ASSET_REGISTRY_KEY,
      kind: 'status',
      status: 412,
      code: 'PreconditionFailed',
    });
    const before = await stack.server.runtime.store.head(ASSET_REGISTRY_KEY);
    s3.resetRequests();

    // Act
    const run = registerAsset(
      stack.server.runtime.registry,
      parseAssetRegistration({ ticker: 'NEVER', kind: 'STOCK' }),
      { maxAttempts: 3 },
    );

    // Assess
    await expect(run).rejects.toMatchObject({ code: 'CONFLICT' });
    s3.clearFaults();
    expect(s3.count({ method: 'PUT', key: ASSET_REGISTRY_KEY })).toBe(3);
    expect((await stack.server.runtime.store.head(ASSET_REGISTRY_KEY))!.etag).toBe(before!.etag);
    expect((await registryDocument()).stocks.supported_tickers.NEVER).toBeUndefined();
  });

  it('updates an existing asset in place, refuses a kind change, and checks usesModel', async () => {
    const updated = await stack.gqlAsWriter(
      `mutation { registerAsset(ticker: "spy", kind: ETF, sector: "Index") { ticker sector name model { id } } }`,
    );
    expect(updated.data!.registerAsset).toEqual({
      ticker: 'SPY',
      sector: 'Index',
      name: 'SPDR S&P 500 ETF Trust',
      model: { id: 'etfs/SPY' },
    });
    expect((await registryDocument()).etfs.SPY.model_path).toBe('etfs/SPY/production/');

    const wrongKind = await stack.gqlAsWriter(`mutation { registerAsset(ticker: "AAPL", kind: ETF) { ticker } }`);
    expect(wrongKind.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(wrongKind.errors?.[0].message).toMatch(/AAPL is registered as a stock/);

    const noModel = await stack.gqlAsWriter(
      `mutation { registerAsset(ticker: "NEWX", kind: STOCK, usesModel: "universal/nope") { ticker } }`,
    );
    expect(noModel.errors?.[0].extensions).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect((await registryDocument()).stocks.supported_tickers.NEWX).toBeUndefined();
  });

  it('modelgraph asset add registers through the API (mutation registerAsset)', async () => {
    const s3 = stack.server.s3!;
    s3.resetRequests();
    const run = await cliFor(stack)(
      'asset',
      'add',
      'arkk',
      '--kind',
      'etf',
      '--name',
      'ARK Innovation ETF',
      '--uses-model',
      'universal/all_assets_classifier',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Registered ARKK (ETF, ARK Innovation ETF) → served by universal/all_assets_classifier\n');
    expect((await registryDocument()).etfs.ARKK).toEqual({
      status: 'active',
      name: 'ARK Innovation ETF',
      uses_model: 'universal/all_assets_classifier',
    });
    // The server wrote the registry (the CLI has no S3 client for it): one successful conditional PUT.
    expect(s3.count({ method: 'PUT', key: ASSET_REGISTRY_KEY, status: 200 })).toBe(1);

    const again = await cliFor(stack)('asset', 'add', 'ARKK', '--kind', 'etf', '--sector', 'Innovation');
    expect(again.stdout).toBe('Updated ARKK (ETF, ARK Innovation ETF) → served by universal/all_assets_classifier\n');

    const anonymous = await cliFor(stack, null)('asset', 'add', 'NOPE', '--kind', 'stock', '--json');
    expect(anonymous.code).toBe(1);
    expect(anonymous.error.code).toBe('UNAUTHENTICATED');
    expect(anonymous.error.message).toMatch(/the CLI sent no token: give --token or MODELGRAPH_TOKEN/);
    expect((await registryDocument()).stocks.supported_tickers.NOPE).toBeUndefined();
  });
});
