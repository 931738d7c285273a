import { BadUserInputError } from '../errors';
import type { ApprovalStatus } from './governanceRecords';

/**
 * Filtering, ordering and cursor paging of versions, as pure functions over
 * rows the caller has read (metadata, approval, tags, realised accuracy).
 */
export interface VersionRow {
  model: string;
  version: string;
  /** ms since epoch: metadata `created`, else registration time; null if neither. */
  createdAt: number | null;
  accuracy: number | null;
  realizedAccuracy: number | null;
  approval: ApprovalStatus;
  tags: Readonly<Record<string, string>>;
}

export interface VersionFilterSpec {
  tags?: Record<string, string> | null;
  approval?: ApprovalStatus | null;
  minAccuracy?: number | null;
  minRealizedAccuracy?: number | null;
  /** ms since epoch. */
  createdAfter?: number | null;
}

export type VersionOrderField = 'CREATED_AT' | 'ACCURACY' | 'REALIZED_ACCURACY';
export interface VersionOrderSpec {
  field: VersionOrderField;
  direction: 'ASC' | 'DESC';
}

export function matchesFilter(row: VersionRow, f: VersionFilterSpec): boolean {
  if (f.approval && row.approval !== f.approval) return false;
  if (f.minAccuracy != null && (row.accuracy === null || row.accuracy < f.minAccuracy)) return false;
  if (f.minRealizedAccuracy != null && (row.realizedAccuracy === null || row.realizedAccuracy < f.minRealizedAccuracy))
    return false;
  if (f.createdAfter != null && (row.createdAt === null || row.createdAt <= f.createdAfter)) return false;
  for (const [k, v] of Object.entries(f.tags ?? {})) if (row.tags[k] !== v) return false;
  return true;
}

function valueOf(row: VersionRow, field: VersionOrderField): number | null {
  switch (field) {
    case 'CREATED_AT':
      return row.createdAt;
    case 'ACCURACY':
      return row.accuracy;
    case 'REALIZED_ACCURACY':
      return row.realizedAccuracy;
  }
}

const byName = (a: VersionRow, b: VersionRow) =>
  a.model.localeCompare(b.model) || a.version.localeCompare(b.version, 'en', { numeric: true });

/** Rows without the value come last whatever the direction; ties by model, then version name (numeric). */
export function orderRows(rows: VersionRow[], order: VersionOrderSpec): VersionRow[] {
  const sign = order.direction === 'ASC' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = valueOf(a, order.field);
    const y = valueOf(b, order.field);
    if (x === null || y === null) return x === y ? byName(a, b) : x === null ? 1 : -1;
    return x === y ? byName(a, b) : (x - y) * sign;
  });
}

/** An opaque cursor naming a row: base64url of `{model}@{version}`. */
export function cursorOf(row: Pick<VersionRow, 'model' | 'version'>): string {
  return Buffer.from(`${row.model}@${row.version}`, 'utf8').toString('base64url');
}

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
  totalCount: number;
}

/** The `first` rows after the row named by `after` (BAD_USER_INPUT when no row has that cursor). */
export function pageAfter(rows: VersionRow[], first: number, after?: string | null): Page<VersionRow> {
  let start = 0;
  if (after) {
    const i = rows.findIndex((r) => cursorOf(r) === after);
    if (i < 0)
      throw new BadUserInputError(`No version has the cursor "${after.slice(0, 80)}" in this result`, {
        argument: 'after',
      });
    start = i + 1;
  }
  const items = rows.slice(start, start + first);
  return { items, hasNextPage: start + first < rows.length, totalCount: rows.length };
}
