import type { Stage } from '../registry/identifiers';
import type { StagePointer, Traffic } from '../registry/versionMetadata';
import { inCanary } from './canary';

/** A model's production and staging pointers and its traffic settings, as one batch read them. */
export interface StageTraffic {
  production: StagePointer | null;
  staging: StagePointer | null;
  traffic?: Traffic;
}

/** The rows of one batch that one model serves from one stage. */
export interface RowGroup {
  model: string;
  stage: Stage;
  /** Rows canary routing sent to staging. */
  canary: boolean;
  /** Request indexes, in request order. */
  indexes: number[];
}

export interface RouteInput {
  /** Per request: the model that answers it, or why it cannot be answered. */
  targets: ReadonlyArray<string | Error>;
  /** Per request: its ticker (undefined where the target is an error). */
  tickers: ReadonlyArray<string | undefined>;
  /** Per model: its traffic, or the error reading it. Absent: no traffic applies (not production, or an alias). */
  traffic: ReadonlyMap<string, StageTraffic | Error>;
  /** The stage asked. */
  stage: Stage;
}

export interface Routes {
  /** Non-empty groups: per model, the rows the asked stage serves, then the canary rows staging serves. */
  groups: RowGroup[];
  /** Requests that fail before any model runs. */
  errors: Map<number, Error>;
}

/**
 * Which stage serves each row, a pure function of what the batch read:
 * production serves a model's rows unless canary routing sends the ticker to
 * staging — only while staging serves a version other than production's (else
 * there is nothing to try). `fnv1a32("{model}:{TICKER}") mod 10000 < percent ×
 * 100` decides (inCanary), so the same tickers go to staging on every request
 * and instance. A model whose traffic could not be read fails its rows.
 */
export function routeRows(input: RouteInput): Routes {
  const errors = new Map<number, Error>();
  const byModel = new Map<string, { served: RowGroup; canary?: RowGroup }>();
  input.targets.forEach((target, i) => {
    if (target instanceof Error) {
      errors.set(i, target);
      return;
    }
    const t = input.traffic.get(target);
    if (t instanceof Error) {
      errors.set(i, t);
      return;
    }
    let entry = byModel.get(target);
    if (!entry) {
      entry = { served: { model: target, stage: input.stage, canary: false, indexes: [] } };
      byModel.set(target, entry);
    }
    const percent = t?.traffic?.canary_percent ?? 0;
    const canaryOn = percent > 0 && t?.staging != null && t.staging.version !== t.production?.version;
    if (canaryOn && inCanary(target, input.tickers[i]!, percent)) {
      (entry.canary ??= { model: target, stage: 'STAGING', canary: true, indexes: [] }).indexes.push(i);
    } else {
      entry.served.indexes.push(i);
    }
  });
  const groups = [...byModel.values()]
    .flatMap((g) => (g.canary ? [g.served, g.canary] : [g.served]))
    .filter((g) => g.indexes.length > 0);
  return { groups, errors };
}

/** Whether a group's rows also run staging in shadow: production rows of a model in shadow mode with another staging version. */
export function shadowsStaging(
  t: StageTraffic | undefined,
  servingVersion: string,
): t is StageTraffic & { staging: StagePointer } {
  return Boolean(t?.traffic?.shadow && t.staging && t.staging.version !== servingVersion);
}
