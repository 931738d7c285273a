import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../demo/strategies';
import { SHARED_PREFIX } from '../registry/bucketLayout';
import type { Deployments } from '../registry/deployments';
import { publishVersion } from '../registry/versionPublisher';
import type { ObjectStore } from '../storage/objectStore';
import { demoDescription, demoVersionFiles, promoteIfUndeployed } from './demoSeed';

/** The demo's experimental model: versioned and staged, never served to production callers. */
export const DEMO_EXPERIMENTAL_MODEL = 'experimental/momentum_v2';
export const DEMO_EXPERIMENTAL_VERSION = 'v0.1.0';

/** The files the demo puts under `shared/` (listed by `sharedFiles`, never served). */
export const DEMO_SHARED_FILES = [`${SHARED_PREFIX}feature_definitions.json`, `${SHARED_PREFIX}README.txt`] as const;

/**
 * The parts of the demo bucket beyond the served models: one experimental
 * model version promoted to STAGING only, and two files under `shared/`.
 * Safe to run again on a partly seeded bucket.
 */
export async function seedDemoExtras(store: ObjectStore, deployments: Deployments): Promise<boolean> {
  let wrote = false;
  const v = { accuracy: 0.57, created: '2026-11-10T00:00:00Z' };
  if (!(await store.head(`${DEMO_EXPERIMENTAL_MODEL}/archive/${DEMO_EXPERIMENTAL_VERSION}/metadata.json`))) {
    await publishVersion(store, DEMO_EXPERIMENTAL_MODEL, DEMO_EXPERIMENTAL_VERSION, demoVersionFiles(400), {
      ...demoDescription(v),
      description: 'Demo experimental momentum classifier (staging only; not trained on market data)',
    });
    wrote = true;
  }
  wrote =
    (await promoteIfUndeployed(
      deployments,
      DEMO_EXPERIMENTAL_MODEL,
      DEMO_EXPERIMENTAL_VERSION,
      'STAGING',
      'demo bucket: experimental models are tried in staging',
    )) || wrote;

  const definitions = {
    description:
      'Input features of the demo models, in input-column order (feature_names.json of every demo version lists the same names).',
    feature_count: DEMO_FEATURE_NAMES.length,
    features: DEMO_FEATURE_NAMES.map((name, index) => ({ index, name, dtype: 'float32' })),
    labels: [...OPTION_STRATEGIES],
  };
  if (await store.head(DEMO_SHARED_FILES[0])) return wrote;
  await store.put(DEMO_SHARED_FILES[0], JSON.stringify(definitions, null, 2), { contentType: 'application/json' });
  await store.put(
    DEMO_SHARED_FILES[1],
    [
      'shared/ holds files used by many models (feature definitions, notes).',
      'Modelgraph lists them (query sharedFiles) and never serves them as models.',
      '',
    ].join('\n'),
    { contentType: 'text/plain; charset=utf-8' },
  );
  return true;
}
