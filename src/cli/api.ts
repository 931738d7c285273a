import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SERVER_URL_FILE } from '../local/localTarget';
import { ADMIN_TOKEN_FILE } from '../local/principals';
import type { CliIo } from './io';

/** Where the GraphQL API is and who the CLI is to it. */
export interface ApiFlags {
  api?: string;
  token?: string;
}

/**
 * An error the CLI prints as `error CODE: message`: a GraphQL error of the API
 * (its `extensions.code` and the other extensions as details) or one of the
 * CLI's own (SERVER_UNAVAILABLE).
 */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The API cannot be reached (no local server, a wrong URL, a server that stopped). */
export const SERVER_UNAVAILABLE = 'SERVER_UNAVAILABLE';

/** The local data folder: MODELGRAPH_DATA_DIR, default ./.modelgraph. */
export function dataDirOf(io: CliIo): string {
  return resolve(io.cwd, io.env.MODELGRAPH_DATA_DIR ?? '.modelgraph');
}

export interface ApiTarget {
  url: string;
  /** For messages: where the URL came from. */
  urlSource: string;
  /** The URL was found in the data folder of a running local server. */
  local: boolean;
  token?: string;
  tokenSource?: string;
}

/**
 * The API: --api, else MODELGRAPH_API_URL, else the URL the running local
 * server wrote into its data folder. The token: --token, else MODELGRAPH_TOKEN,
 * else (for the local server found through its data folder only) the admin
 * principal's token file in that folder. Never falls back to the bucket.
 */
export function resolveApi(flags: ApiFlags, io: CliIo): ApiTarget {
  const dataDir = dataDirOf(io);
  let target: ApiTarget;
  const explicit = flags.api ?? io.env.MODELGRAPH_API_URL;
  if (explicit) {
    target = {
      url: graphqlUrl(explicit, flags.api ? '--api' : 'MODELGRAPH_API_URL'),
      urlSource: flags.api ? '--api' : 'MODELGRAPH_API_URL',
      local: false,
    };
  } else {
    const file = join(dataDir, SERVER_URL_FILE);
    if (!existsSync(file)) {
      throw new CliError(
        SERVER_UNAVAILABLE,
        `No Modelgraph API is configured and no local Modelgraph server is running (${file} does not exist). ` +
          'Changes go through the API, never straight to the bucket: start the local server with `npm start` ' +
          '(in the folder holding .modelgraph, or set MODELGRAPH_DATA_DIR), or name the API with --api / MODELGRAPH_API_URL.',
      );
    }
    target = { url: graphqlUrl(readFileSync(file, 'utf8').trim(), file), urlSource: file, local: true };
  }
  const token = flags.token ?? io.env.MODELGRAPH_TOKEN;
  if (token) return { ...target, token, tokenSource: flags.token ? '--token' : 'MODELGRAPH_TOKEN' };
  if (target.local) {
    const file = join(dataDir, ADMIN_TOKEN_FILE);
    if (existsSync(file)) return { ...target, token: readFileSync(file, 'utf8').trim(), tokenSource: file };
  }
  return target;
}

/** A URL ending in `/` is a server's root: its GraphQL endpoint is `/graphql` (the local server's layout). */
function graphqlUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError('BAD_USER_INPUT', `"${raw}" (from ${source}) is not a URL`, { argument: 'api' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError('BAD_USER_INPUT', `"${raw}" (from ${source}) is not an http(s) URL`, { argument: 'api' });
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/graphql';
  return url.toString();
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** The GraphQL API as the CLI uses it: one POST per operation, the first error thrown as a CliError. */
export class ApiClient {
  constructor(readonly target: ApiTarget) {}

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const { url, urlSource } = this.target;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        SERVER_UNAVAILABLE,
        `The Modelgraph API at ${url} (from ${urlSource}) does not answer (${cause?.code ?? cause?.message ?? String(err)})` +
          (this.target.local || /^https?:\/\/(localhost|127\.0\.0\.1)[:/]/.test(url)
            ? ': is the local server (`npm start`) still running?'
            : ''),
        { url },
      );
    }
    const text = await res.text();
    let body: GraphQLBody;
    try {
      body = JSON.parse(text) as GraphQLBody;
    } catch {
      throw new CliError(
        SERVER_UNAVAILABLE,
        `${url} (from ${urlSource}) answered HTTP ${res.status} without a GraphQL response: is it a Modelgraph API's GraphQL URL?`,
        { url, status: res.status },
      );
    }
    const first = body.errors?.[0];
    if (first) {
      const { code, ...details } = first.extensions ?? {};
      let message = first.message;
      if (code === 'UNAUTHENTICATED' && !this.target.token)
        message += ' — the CLI sent no token: give --token or MODELGRAPH_TOKEN';
      else if (code === 'UNAUTHENTICATED')
        message += ` — the token from ${this.target.tokenSource} names no principal of this server`;
      throw new CliError(typeof code === 'string' ? code : 'INTERNAL_ERROR', message, details);
    }
    if (!body.data) throw new CliError('INTERNAL_ERROR', `${url} answered HTTP ${res.status} without data`, { url });
    return body.data as T;
  }
}
