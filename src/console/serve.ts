/**
 * Serves the console bundle (built by scripts/build-console.mjs into
 * dist/console/) for both the local node:http server and the Lambda function:
 *
 *   GET /console, /console/<page path>   index.html with the page config injected (no-cache),
 *                                        so a reload of any History API route works
 *   GET /console/_/<name>-<hash>.<ext>   the bundle's files: content-hashed, cached for a year
 *
 * The transport-free core (`consoleResponse`) answers a path with status,
 * headers and body; `createConsoleHandler` adapts it to node:http and the
 * Lambda handler to API Gateway.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';

export const CONSOLE_PATH = '/console';
export const CONSOLE_ASSET_PREFIX = '/console/_/';

/** What the page needs to know about its server (JSON in index.html). */
export interface ConsoleConfig {
  /** Where queries go, e.g. `/graphql`. */
  endpoint: string;
  /** Where mutations go: `/graphql` locally, `/admin/graphql` (JWT authorizer) on AWS. */
  writeEndpoint: string;
  /** How a user gets a token, shown beside the token field. */
  tokenHint: string;
  /** GraphiQL's address, or null where none is served (AWS). */
  graphiql: string | null;
}

export interface ConsoleResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const CONFIG_PLACEHOLDER = '%CONSOLE_CONFIG%';
const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Hashed bundle file names: `app-ABCD1234.js`, `app-ABCD1234.css`, `app-ABCD1234.js.LEGAL.txt`. */
const ASSET_NAME = /^[A-Za-z0-9_-]+-[A-Z0-9]{8}\.(js|css)(\.LEGAL\.txt)?$/;

/** JSON safe inside an HTML <script> element. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function text(status: number, body: string): ConsoleResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body };
}

/**
 * The console's files, read once, on the first console request (not at start-up: a
 * cold start that answers `predict` never reads them): the bundle is small (a few
 * hundred KiB) and immutable for the life of the process, so every answer is a
 * memory lookup.
 */
export class ConsoleBundle {
  private files: { index: string | null; assets: Map<string, string> } | undefined;

  constructor(
    readonly distDir: string,
    private readonly config: ConsoleConfig,
  ) {}

  private load(): { index: string | null; assets: Map<string, string> } {
    if (this.files) return this.files;
    const indexFile = join(this.distDir, 'index.html');
    const index = existsSync(indexFile)
      ? readFileSync(indexFile, 'utf8').replace(CONFIG_PLACEHOLDER, jsonForScript(this.config))
      : null;
    const assets = new Map<string, string>();
    const assetDir = join(this.distDir, '_');
    if (existsSync(assetDir)) {
      for (const name of readdirSync(assetDir)) {
        if (ASSET_NAME.test(name)) assets.set(name, readFileSync(join(assetDir, name), 'utf8'));
      }
    }
    this.files = { index, assets };
    return this.files;
  }

  get built(): boolean {
    return this.load().index !== null;
  }

  /** The answer to a GET or HEAD of `pathname`, or null when the path is not the console's. */
  respond(pathname: string): ConsoleResponse | null {
    if (pathname !== CONSOLE_PATH && !pathname.startsWith(`${CONSOLE_PATH}/`)) return null;
    const { index, assets } = this.load();
    if (pathname.startsWith(CONSOLE_ASSET_PREFIX)) {
      const name = pathname.slice(CONSOLE_ASSET_PREFIX.length);
      const body = ASSET_NAME.test(name) ? assets.get(name) : undefined;
      if (body === undefined) return text(404, 'No such console file.\n');
      return {
        status: 200,
        headers: {
          'content-type': CONTENT_TYPES[extname(name.replace(/\.LEGAL\.txt$/, '.txt'))] ?? CONTENT_TYPES['.txt']!,
          'cache-control': IMMUTABLE,
          'x-content-type-options': 'nosniff',
        },
        body,
      };
    }
    if (index === null) {
      return text(503, 'The console is not built: run `node scripts/build-console.mjs` (npm start does).\n');
    }
    return {
      status: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
        // Also in a <meta> of index.html; the header covers clients that ignore it.
        'content-security-policy': CONSOLE_CSP,
      },
      body: index,
    };
  }
}

/** Nothing but this origin: no CDN, no inline script (the config is a JSON data block). */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The node:http adapter: answers the console's paths and returns true, or returns false for others. */
export function createConsoleHandler(bundle: ConsoleBundle): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const method = req.method ?? 'GET';
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return false;
    }
    const answer = bundle.respond(pathname);
    if (!answer) return false;
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Method not allowed.\n');
      return true;
    }
    res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
    res.end(method === 'HEAD' ? undefined : answer.body);
    return true;
  };
}

/** The API Gateway adapter (HTTP API 2.0 or REST 1.0 events): the console's answer, or null for other paths. */
export function consoleLambdaResult(
  bundle: ConsoleBundle,
  event: { rawPath?: string; path?: string; requestContext?: { http?: { method?: string } }; httpMethod?: string },
): { statusCode: number; headers: Record<string, string>; body: string } | null {
  const method = event.requestContext?.http?.method ?? event.httpMethod ?? 'GET';
  const path = event.rawPath ?? event.path ?? '/';
  if (method !== 'GET' && method !== 'HEAD') return null;
  const answer = bundle.respond(path);
  if (!answer) return null;
  return { statusCode: answer.status, headers: answer.headers, body: method === 'HEAD' ? '' : answer.body };
}
