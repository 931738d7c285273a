/**
 * The API's moves take no expected generation, so the console checks, just
 * before it sends one, that the state its confirmation described is still the
 * state: a fresh read (never the cache) of the model's stages, traffic,
 * aliases and latest deployment. If anything the action depends on moved (a
 * promotion from the CLI, another console…), the action is not sent and the
 * user sees a CONFLICT with a refresh. The server's own compare-and-swap still
 * answers CONFLICT for a move that races in the remaining instant.
 */
import type { ApolloClient } from '@apollo/client';
import { ConsoleModelStateDocument, type ConsoleModelStateQuery } from '../generated/client/graphql';
import { StateMoved } from './errors';
import { ago } from './format';

export type ModelState = NonNullable<ConsoleModelStateQuery['model']>;

/** What an action expects to find; only the parts it names are compared. */
export interface Expectation {
  production?: string | null;
  staging?: string | null;
  traffic?: { shadow: boolean; canaryPercent: number };
  alias?: { name: string; version: string | null };
}

export function whatMoved(expect: Expectation, now: ModelState): string | null {
  const last = now.historyConnection.edges[0]?.node;
  const by = last
    ? ` (last change: ${last.action.toLowerCase()} ${last.stage.toLowerCase()} by ${last.by}, ${ago(last.at)})`
    : '';
  const moved: string[] = [];
  if (expect.production !== undefined && (now.production?.version ?? null) !== expect.production)
    moved.push(`production is now ${now.production?.version ?? 'empty'}, not ${expect.production ?? 'empty'}`);
  if (expect.staging !== undefined && (now.staging?.version ?? null) !== expect.staging)
    moved.push(`staging is now ${now.staging?.version ?? 'empty'}, not ${expect.staging ?? 'empty'}`);
  if (
    expect.traffic &&
    (now.traffic.shadow !== expect.traffic.shadow || now.traffic.canaryPercent !== expect.traffic.canaryPercent)
  )
    moved.push(`traffic is now shadow ${now.traffic.shadow ? 'on' : 'off'}, canary ${now.traffic.canaryPercent} %`);
  if (expect.alias) {
    const current = now.aliases.find((a) => a.name === expect.alias!.name)?.version?.version ?? null;
    if (current !== expect.alias.version)
      moved.push(
        `alias ${expect.alias.name} now points to ${current ?? 'nothing'}, not ${expect.alias.version ?? 'nothing'}`,
      );
  }
  return moved.length ? `${moved.join('; ')}${by}.` : null;
}

export async function ensureUnchanged(client: ApolloClient, id: string, expect: Expectation): Promise<void> {
  const { data } = await client.query({ query: ConsoleModelStateDocument, variables: { id }, fetchPolicy: 'no-cache' });
  if (!data?.model) throw new StateMoved(`${id} no longer exists.`);
  const moved = whatMoved(expect, data.model);
  if (moved) throw new StateMoved(moved);
}
