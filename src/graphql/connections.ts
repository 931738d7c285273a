import { BadUserInputError } from '../errors';

/** A Relay cursor connection as the schema's `*Connection` types answer it. */
export interface Connection<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface PageLimits {
  /** Page size when `first` is not given. */
  defaultFirst: number;
  /** Largest `first` accepted. */
  maxFirst: number;
}

export const cursorOfKey = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');

/** The page size asked for, within limits (BAD_USER_INPUT outside 0…maxFirst). */
export function pageSize(args: PageArgs, limits: PageLimits): number {
  const first = args.first ?? limits.defaultFirst;
  if (!Number.isInteger(first) || first < 0 || first > limits.maxFirst)
    throw new BadUserInputError(`first must be from 0 to ${limits.maxFirst}`, { argument: 'first' });
  return first;
}

/**
 * The page of `items` (already in the list's order) after the item whose cursor
 * is `after`. Cursors name an item by a stable key, not by its offset: a list
 * read newest first grows at its front, and an offset cursor (graphql-relay's
 * `arrayconnection:N`) would then repeat items on the next page.
 */
export function connectionByKey<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  args: PageArgs,
  limits: PageLimits,
): Connection<T> {
  const first = pageSize(args, limits);
  let start = 0;
  if (args.after) {
    const i = items.findIndex((item) => cursorOfKey(keyOf(item)) === args.after);
    if (i < 0)
      throw new BadUserInputError(`No item has the cursor "${args.after.slice(0, 80)}" in this list`, {
        argument: 'after',
      });
    start = i + 1;
  }
  const edges = items.slice(start, start + first).map((node) => ({ cursor: cursorOfKey(keyOf(node)), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: start + first < items.length,
      hasPreviousPage: start > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: items.length,
  };
}
