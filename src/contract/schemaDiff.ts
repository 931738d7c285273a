import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import { buildSchema, printSchema } from 'graphql';

/**
 * The released-contract check: the schema against the last released one
 * (graphql-inspector's diff), and the breaking changes CHANGELOG.md records.
 */

/** One SDL text (schema/*.graphql concatenated) as the single printed schema a client package ships. */
export function printContract(sdl: string): string {
  return printSchema(buildSchema(sdl));
}

export interface ContractReport {
  breaking: Change[];
  dangerous: Change[];
  /** Breaking changes whose path CHANGELOG.md's unreleased section does not name. */
  unrecorded: Change[];
}

/** Where a change is: its schema coordinate (`Type.field.argument`), or its type for a type-level change. */
export const pathOf = (change: Change): string => change.path ?? '';

/**
 * The schema coordinates CHANGELOG.md records as breaking: every `` `Coordinate` ``
 * on a line of the `### Breaking changes` subsection of the `## Unreleased`
 * section (up to the next `##` heading).
 */
export function recordedBreakingChanges(changelog: string): Set<string> {
  const recorded = new Set<string>();
  let inUnreleased = false;
  let inBreaking = false;
  for (const line of changelog.split('\n')) {
    if (/^## /.test(line)) {
      inUnreleased = /^## +\[?unreleased\b/i.test(line);
      inBreaking = false;
      continue;
    }
    if (/^### /.test(line)) {
      inBreaking = inUnreleased && /^### +breaking/i.test(line);
      continue;
    }
    if (!inBreaking) continue;
    for (const m of line.matchAll(/`([A-Za-z_][A-Za-z0-9_.]*)`/g)) recorded.add(m[1]!);
  }
  return recorded;
}

export async function checkContract(released: string, current: string, changelog: string): Promise<ContractReport> {
  const changes = await diff(buildSchema(released), buildSchema(current));
  const breaking = changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
  const dangerous = changes.filter((c) => c.criticality.level === CriticalityLevel.Dangerous);
  const recorded = recordedBreakingChanges(changelog);
  return { breaking, dangerous, unrecorded: breaking.filter((c) => !recorded.has(pathOf(c))) };
}
