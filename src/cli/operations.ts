import type { DeploymentRecord, Traffic } from '../registry/versionMetadata';

/**
 * The GraphQL the CLI sends. Outputs keep the shapes the CLI printed when it
 * wrote to the bucket itself (a deployment as its history record), so scripts
 * reading `--json` keep working.
 */

export const DEPLOYMENT_FIELDS = `id model { id } stage action fromVersion toVersion by at reason generation traffic { shadow canaryPercent }
  override violations { rule required actual }`;

export interface DeploymentView {
  id: string;
  model: { id: string };
  stage: 'PRODUCTION' | 'STAGING';
  action: 'PROMOTE' | 'ROLLBACK' | 'TRAFFIC';
  fromVersion: string | null;
  toVersion: string;
  by: string;
  at: string;
  reason: string | null;
  generation: number;
  traffic: { shadow: boolean; canaryPercent: number } | null;
  override: boolean;
  violations: Array<{ rule: string; required: string; actual: string }>;
}

export function trafficRecord(t: { shadow: boolean; canaryPercent: number }): Traffic {
  return { shadow: t.shadow, canary_percent: t.canaryPercent };
}

/** A Deployment of the API as the history record it is. */
export function deploymentRecord(d: DeploymentView): DeploymentRecord {
  return {
    id: d.id,
    model: d.model.id,
    stage: d.stage,
    action: d.action,
    from: d.fromVersion,
    to: d.toVersion,
    by: d.by,
    at: d.at,
    reason: d.reason,
    generation: d.generation,
    ...(d.traffic ? { traffic: trafficRecord(d.traffic) } : {}),
    ...(d.override ? { override: true, violations: d.violations } : {}),
  };
}

/** What the CLI shows of a registered version. */
export const VERSION_FIELDS = `version modelFile sha256 sizeBytes task featureNames labels targets accuracy createdAt
  ensemble { voting members { model { id } version weight } }`;

export interface VersionView {
  version: string;
  modelFile: string;
  sha256: string;
  sizeBytes: number;
  task: 'CLASSIFICATION' | 'REGRESSION';
  featureNames: string[];
  labels: string[];
  targets: string[];
  accuracy: number | null;
  createdAt: string | null;
  ensemble: {
    voting: 'SOFT' | 'HARD';
    members: Array<{ model: { id: string }; version: string; weight: number }>;
  } | null;
}

export const WHOAMI = `mutation Whoami { whoami { id canWrite canApprove scopes } }`;
export interface Whoami {
  whoami: { id: string; canWrite: boolean; canApprove: boolean; scopes: string[] };
}

export const REGISTER_VERSION = `mutation RegisterVersion($model: ID!, $version: String!, $strategies: [String!], $metadata: JSONObject) {
  registerVersion(model: $model, version: $version, strategies: $strategies, metadata: $metadata) { ${VERSION_FIELDS} }
}`;
export interface RegisterVersionAnswer {
  registerVersion: VersionView;
}
