import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../demo/strategies';
import { buildTreeEnsembleRegressor, demoModel } from '../demo/treeEnsemble';
import { Registry } from '../registry/registry';
import { registerEnsemble } from '../release/registerEnsemble';
import { registerAsset } from '../registry/assetRegistration';
import type { AssetRegistryDocument } from '../registry/assetRegistry';
import { ASSET_REGISTRY_KEY, PERFORMANCE_TRACKING_KEY } from '../registry/bucketLayout';
import type { Deployments } from '../registry/deployments';
import type { Governance } from '../registry/governance';
import { publishVersion } from '../registry/versionPublisher';
import type { ObjectStore } from '../storage/objectStore';
import { seedDemoExtras } from './demoExtras';

export const DEMO_ETFS: Record<string, { name: string; sector: string }> = {
  SMH: { name: 'VanEck Semiconductor ETF', sector: 'Semiconductors' },
  SPY: { name: 'SPDR S&P 500 ETF Trust', sector: 'Broad Market' },
  QQQ: { name: 'Invesco QQQ Trust', sector: 'Technology' },
  IWM: { name: 'iShares Russell 2000 ETF', sector: 'Small Caps' },
  XLF: { name: 'Financial Select Sector SPDR Fund', sector: 'Financials' },
};

/** The six stocks of the original design first, then enough for a 45-stock portfolio. */
export const DEMO_STOCKS: Record<string, { name: string; sector: string }> = {
  AAPL: { name: 'Apple Inc.', sector: 'Technology' },
  TSLA: { name: 'Tesla, Inc.', sector: 'Consumer Discretionary' },
  NVDA: { name: 'NVIDIA Corporation', sector: 'Semiconductors' },
  MSFT: { name: 'Microsoft Corporation', sector: 'Technology' },
  GOOGL: { name: 'Alphabet Inc.', sector: 'Communication Services' },
  AMZN: { name: 'Amazon.com, Inc.', sector: 'Consumer Discretionary' },
  ...Object.fromEntries(
    (
      'META:Communication Services,NFLX:Communication Services,AMD:Semiconductors,INTC:Semiconductors,AVGO:Semiconductors,QCOM:Semiconductors,' +
      'MU:Semiconductors,TXN:Semiconductors,CRM:Technology,ORCL:Technology,ADBE:Technology,IBM:Technology,CSCO:Technology,' +
      'JPM:Financials,BAC:Financials,GS:Financials,MS:Financials,WFC:Financials,C:Financials,V:Financials,MA:Financials,' +
      'XOM:Energy,CVX:Energy,COP:Energy,JNJ:Health Care,PFE:Health Care,UNH:Health Care,MRK:Health Care,ABBV:Health Care,' +
      'WMT:Consumer Staples,KO:Consumer Staples,PEP:Consumer Staples,COST:Consumer Staples,HD:Consumer Discretionary,' +
      'NKE:Consumer Discretionary,DIS:Communication Services,BA:Industrials,CAT:Industrials,GE:Industrials,UBER:Industrials'
    )
      .split(',')
      .map((pair) => {
        const [ticker, sector] = pair.split(':');
        return [ticker, { name: ticker, sector }];
      }),
  ),
};

export const DEMO_UNIVERSAL_MODEL = 'universal/all_assets_classifier';

interface DemoVersion {
  model: string;
  version: string;
  seed: number;
  accuracy: number;
  created: string;
}

const DEMO_VERSIONS: DemoVersion[] = [
  ...Object.keys(DEMO_ETFS).map((t, i) => ({
    model: `etfs/${t}`,
    version: 'v1.0.0',
    seed: 100 + i,
    accuracy: 0.61 + i * 0.01,
    created: '2026-09-01T00:00:00Z',
  })),
  { model: 'etfs/SPY', version: 'v1.1.0', seed: 151, accuracy: 0.67, created: '2026-10-15T00:00:00Z' },
  { model: 'stocks/universal', version: 'v1.0.0', seed: 200, accuracy: 0.58, created: '2026-09-01T00:00:00Z' },
  { model: 'stocks/universal', version: 'v1.1.0', seed: 201, accuracy: 0.6, created: '2026-10-20T00:00:00Z' },
  { model: DEMO_UNIVERSAL_MODEL, version: 'v1.0.0', seed: 300, accuracy: 0.55, created: '2026-09-01T00:00:00Z' },
];

/** Production pointers of the demo, in promotion order (SPY and stocks/universal get a history to roll back). */
const DEMO_PROMOTIONS: Array<{ model: string; version: string; stage: 'PRODUCTION' | 'STAGING' }> = [
  ...Object.keys(DEMO_ETFS).map((t) => ({ model: `etfs/${t}`, version: 'v1.0.0', stage: 'PRODUCTION' as const })),
  { model: 'etfs/SPY', version: 'v1.1.0', stage: 'STAGING' },
  { model: 'etfs/SPY', version: 'v1.1.0', stage: 'PRODUCTION' },
  { model: 'stocks/universal', version: 'v1.0.0', stage: 'PRODUCTION' },
  { model: 'stocks/universal', version: 'v1.1.0', stage: 'PRODUCTION' },
  { model: DEMO_UNIVERSAL_MODEL, version: 'v1.0.0', stage: 'PRODUCTION' },
];

export const DEMO_ENSEMBLE = 'ensembles/multi_asset_ensemble';
export const DEMO_VOLATILITY_MODEL = 'universal/volatility_predictor';
export const DEMO_RISK_MODEL = 'universal/risk_scorer';

/** The demo's regressors: universal models any asset may ask (predict's `model` argument). */
const DEMO_REGRESSORS = [
  {
    model: DEMO_VOLATILITY_MODEL,
    version: 'v1.0.0',
    seed: 500,
    targets: ['vol_5d', 'vol_30d'],
    baseValues: [0.22, 0.25],
    scale: 0.08,
    description: 'Demo volatility forecast (annualised, 5 and 30 days)',
  },
  {
    model: DEMO_RISK_MODEL,
    version: 'v1.0.0',
    seed: 600,
    targets: ['risk_score'],
    baseValues: [0.5],
    scale: 0.3,
    description: 'Demo risk score (0 calm – 1 stressed)',
  },
];

/**
 * The demo ensemble: a soft vote of SPY's model, the universal stock model and
 * the all-assets model, pinned to the versions the demo serves. DIA uses it.
 */
export const DEMO_ENSEMBLE_MEMBERS = [
  { model: 'etfs/SPY', version: 'v1.1.0', weight: 0.5 },
  { model: 'stocks/universal', version: 'v1.1.0', weight: 0.3 },
  { model: DEMO_UNIVERSAL_MODEL, version: 'v1.0.0', weight: 0.2 },
];

/** Assets served by the ensemble (`uses_model`). */
export const DEMO_ENSEMBLE_ASSETS: Record<string, { name: string; sector: string }> = {
  DIA: { name: 'SPDR Dow Jones Industrial Average ETF Trust', sector: 'Broad Market' },
};

/** The files of a demo regressor version. */
export function demoRegressorFiles(r: (typeof DEMO_REGRESSORS)[number]) {
  const model = buildTreeEnsembleRegressor({
    featureNames: DEMO_FEATURE_NAMES,
    targets: r.targets,
    baseValues: r.baseValues,
    scale: r.scale,
    trees: 16,
    depth: 5,
    seed: r.seed,
  });
  return {
    'model.onnx': Buffer.from(model),
    'feature_names.json': Buffer.from(JSON.stringify(DEMO_FEATURE_NAMES, null, 2)),
  };
}

export function demoAssetRegistry(): AssetRegistryDocument {
  return {
    etfs: {
      ...Object.fromEntries(
        Object.entries(DEMO_ETFS).map(([t, e]) => [t, { ...e, status: 'active', model_path: `etfs/${t}/production/` }]),
      ),
      ...Object.fromEntries(
        Object.entries(DEMO_ENSEMBLE_ASSETS).map(([t, e]) => [
          t,
          { ...e, status: 'active', uses_model: DEMO_ENSEMBLE },
        ]),
      ),
    },
    stocks: {
      model_info: { model_path: 'stocks/universal/production/', status: 'active' },
      supported_tickers: Object.fromEntries(
        Object.entries(DEMO_STOCKS).map(([t, e]) => [t, { ...e, status: 'active' }]),
      ),
    },
    last_updated: '2026-11-01T00:00:00Z',
  };
}

/** The files of one demo version folder. */
export function demoVersionFiles(seed: number, opts: { trees?: number; depth?: number } = {}) {
  return {
    'model.onnx': Buffer.from(demoModel(seed, opts)),
    'feature_names.json': Buffer.from(JSON.stringify(DEMO_FEATURE_NAMES, null, 2)),
  };
}

export function demoDescription(v: { accuracy: number; created: string }) {
  return {
    created: v.created,
    accuracy: v.accuracy,
    training_samples: 120_000,
    features: DEMO_FEATURE_NAMES.length,
    strategies: [...OPTION_STRATEGIES],
    description: 'Demo TreeEnsembleClassifier generated by modelgraph (not trained on market data)',
  };
}

/**
 * Seeds an empty bucket with the demo models in the original layout and
 * answers 'seeded'. A bucket this seed made earlier keeps every change made
 * since; only demo parts added in later releases that it lacks (models without
 * a production pointer, the ensemble's asset DIA) are added: 'upgraded'.
 * Anything else: false.
 */
export async function seedDemoBucket(
  store: ObjectStore,
  deployments: Deployments,
): Promise<'seeded' | 'upgraded' | false> {
  if (await store.head(ASSET_REGISTRY_KEY)) return (await upgradeDemoBucket(store, deployments)) ? 'upgraded' : false;
  for (const v of DEMO_VERSIONS) {
    if (await store.head(`${v.model}/archive/${v.version}/metadata.json`)) continue;
    await publishVersion(store, v.model, v.version, demoVersionFiles(v.seed), demoDescription(v));
  }
  for (const p of DEMO_PROMOTIONS) {
    await deployments.promote({ ...p, by: DEMO_SEED_USER, reason: 'demo bucket' });
  }
  await seedLaterDemoModels(store, deployments);
  // metadata/model_registry.json is written by the deployment listener (modelRegistryFeed) during the promotions.
  await seedDemoExtras(store, deployments);
  await store.put(PERFORMANCE_TRACKING_KEY, JSON.stringify({}, null, 2), { contentType: 'application/json' });
  // The registry goes last: its presence means the seed completed.
  await store.put(ASSET_REGISTRY_KEY, JSON.stringify(demoAssetRegistry(), null, 2), {
    contentType: 'application/json',
    ifNoneMatch: '*',
  });
  return 'seeded';
}

/** `by` of the seed's deployments: how a bucket made by this seed is recognised. */
const DEMO_SEED_USER = 'demo-seed';

/** Promotes unless the stage already points at a version (restarts keep your changes). Answers whether it promoted. */
export async function promoteIfUndeployed(
  deployments: Deployments,
  model: string,
  version: string,
  stage: 'PRODUCTION' | 'STAGING',
  reason: string,
): Promise<boolean> {
  if (await deployments.currentPointer(model, stage)) return false;
  await deployments.promote({ model, version, stage, by: DEMO_SEED_USER, reason });
  return true;
}

/** The regressors and the ensemble (issue 7): published if missing, promoted if undeployed. Answers whether it wrote. */
async function seedLaterDemoModels(store: ObjectStore, deployments: Deployments): Promise<boolean> {
  let wrote = false;
  for (const r of DEMO_REGRESSORS) {
    if (!(await store.head(`${r.model}/archive/${r.version}/metadata.json`))) {
      await publishVersion(store, r.model, r.version, demoRegressorFiles(r), {
        created: '2026-10-01T00:00:00Z',
        training_samples: 250_000,
        features: DEMO_FEATURE_NAMES.length,
        task: 'regression',
        targets: r.targets,
        description: `${r.description}; a TreeEnsembleRegressor generated by modelgraph (not trained on market data)`,
      });
      wrote = true;
    }
    wrote = (await promoteIfUndeployed(deployments, r.model, r.version, 'PRODUCTION', 'demo bucket')) || wrote;
  }
  if (!(await store.head(`${DEMO_ENSEMBLE}/archive/v1.0.0/metadata.json`))) {
    const registry = new Registry(store, { pointerTtlMs: 0, maxStaleMs: 0 });
    await registerEnsemble(
      registry,
      {
        model: DEMO_ENSEMBLE,
        version: 'v1.0.0',
        members: DEMO_ENSEMBLE_MEMBERS,
        voting: 'soft',
        description: 'Demo soft vote of SPY, stock and all-assets models',
      },
      DEMO_SEED_USER,
    );
    wrote = true;
  }
  return (await promoteIfUndeployed(deployments, DEMO_ENSEMBLE, 'v1.0.0', 'PRODUCTION', 'demo bucket')) || wrote;
}

/**
 * A bucket seeded by an earlier release (SPY's first production deployment was
 * the seed's) gets the demo parts it lacks; its own changes are kept. Not a
 * demo bucket, or one whose SPY history was archived past its start: untouched.
 */
async function upgradeDemoBucket(store: ObjectStore, deployments: Deployments): Promise<boolean> {
  const spy = await deployments.currentPointer('etfs/SPY', 'PRODUCTION');
  if (spy?.value.history[0]?.by !== DEMO_SEED_USER || spy.value.history[0].generation !== 1) return false;
  // The ensemble's members must still exist as the demo pinned them.
  for (const m of DEMO_ENSEMBLE_MEMBERS)
    if (!(await store.head(`${m.model}/archive/${m.version}/metadata.json`))) return false;
  let wrote = await seedLaterDemoModels(store, deployments);
  wrote = (await seedDemoExtras(store, deployments)) || wrote;
  const registry = new Registry(store, { pointerTtlMs: 0, maxStaleMs: 0 });
  const { byTicker } = await registry.assetDirectory();
  for (const [ticker, e] of Object.entries(DEMO_ENSEMBLE_ASSETS)) {
    if (byTicker.has(ticker)) continue;
    await registerAsset(registry, { ticker, kind: 'ETF', name: e.name, sector: e.sector, usesModel: DEMO_ENSEMBLE });
    wrote = true;
  }
  return wrote;
}

/**
 * A freshly seeded bucket's versions are registered as the seed's
 * (approval documents, PENDING, published by `demo-seed`), so approving them
 * works like for any pushed version. Buckets seeded by earlier releases keep
 * their versions unregistered (their publishers are unknown).
 */
export async function registerSeededVersions(registry: Registry, governance: Governance): Promise<void> {
  for (const { id } of await registry.listModels()) {
    for (const version of await registry.listVersions(id)) {
      if (!(await governance.approval(id, version))) await governance.register(id, version, DEMO_SEED_USER);
    }
  }
}
