/**
 * Just before it sends a move, the console checks that the state its
 * confirmation described is still the state: a fresh read (never the cache)
 * of the model's stages, traffic, aliases and latest deployment. If anything
 * the action depends on moved (a promotion from the CLI, another console…),
 * the action is not sent and the user sees a CONFLICT with a refresh. The move
 * then carries the generation that read saw (`expectedGeneration`), so one
 * that lands in the remaining instant is the server's CONFLICT.
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

/** The fresh state, when it still is what `expect` describes (else StateMoved). */
export async function ensureUnchanged(client: ApolloClient, id: string, expect: Expectation): Promise<ModelState> {
  const { data } = await client.query({ query: ConsoleModelStateDocument, variables: { id }, fetchPolicy: 'no-cache' });
  if (!data?.model) throw new StateMoved(`${id} no longer exists.`);
  const moved = whatMoved(expect, data.model);
  if (moved) throw new StateMoved(moved);
  return data.model;
}

/** The generation of `stage`'s pointer in a fresh state: what the move expects. */
export function generationOf(state: ModelState, stage: 'PRODUCTION' | 'STAGING'): number {
  return stage === 'PRODUCTION' ? state.productionGeneration : state.stagingGeneration;
}
