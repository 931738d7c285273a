/**
 * Serves the bundled GraphiQL page (built by scripts/build-graphiql.mjs into
 * dist/graphiql/) from the local node:http server:
 *
 *   GET /                 index.html with the page config injected
 *   GET /graphiql/<file>  static bundle files (JS, CSS, workers, chunks)
 *
 * Everything else returns false so the caller can route it (e.g. /graphql to
 * Apollo). No request from the page leaves the origin.
 */
import { createReadStream, existsSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GraphiqlHandlerOptions {
  /** Bundle directory; defaults to <project>/dist/graphiql. */
  distDir?: string;
  /** GraphQL endpoint the page talks to, e.g. '/graphql'. */
  endpoint: string;
  /** Query shown in the first tab when the browser has nothing stored. */
  defaultQuery: string;
  /** Page title (default 'Modelgraph'). */
  title?: string;
}

export type GraphiqlHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export const GRAPHIQL_ASSET_PREFIX = '/graphiql/';
export const DEFAULT_GRAPHIQL_DIST_DIR = fileURLToPath(new URL('../../../dist/graphiql/', import.meta.url));

const CONFIG_PLACEHOLDER = '%MODELGRAPH_CONFIG%';
const TITLE_PLACEHOLDER = '%MODELGRAPH_TITLE%';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.eot': 'application/vnd.ms-fontobject',
};

/** Directories whose file names carry a content hash (see build-graphiql.mjs). */
const HASHED_DIRS = ['chunks/', 'assets/'];

/**
 * Serialises a value as JSON that is safe inside an HTML <script> element:
 * no `</script>`, `<!--` or `]]>` can appear, and U+2028/U+2029 are escaped.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Maps the part of a URL path after /graphiql/ to a relative file path, or
 * null when it is not acceptable: traversal ('..'), absolute or drive paths,
 * backslashes, NUL bytes, hidden files, malformed percent-encoding.
 */
export function safeAssetPath(rawRelative: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawRelative);
  } catch {
    return null;
  }
  if (decoded === '' || decoded.length > 512) return null;
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  if (decoded.startsWith('/') || isAbsolute(decoded) || /^[a-zA-Z]:/.test(decoded)) return null;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.'))) return null;
  return segments.join('/');
}

function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
  head = false,
): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(head ? undefined : body);
}

const MISSING_BUNDLE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Modelgraph — GraphiQL not built</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}code{background:#eee;padding:.1rem .3rem;border-radius:3px}</style>
</head><body>
<h1>GraphiQL is not built yet</h1>
<p>The GraphiQL bundle was not found in <code>dist/graphiql</code>. Build it with</p>
<pre><code>node scripts/build-graphiql.mjs</code></pre>
<p>and reload this page. The GraphQL endpoint itself works without it: POST your queries to <code>%ENDPOINT%</code>.</p>
</body></html>
`;

export function createGraphiqlHandler(opts: GraphiqlHandlerOptions): GraphiqlHandler {
  const distDir = resolve(opts.distDir ?? DEFAULT_GRAPHIQL_DIST_DIR);
  const config = {
    endpoint: opts.endpoint,
    defaultQuery: opts.defaultQuery,
    title: opts.title ?? 'Modelgraph',
  };
  const configJson = jsonForScript(config);
  const titleHtml = escapeHtml(config.title);

  async function serveIndex(res: ServerResponse, head: boolean): Promise<void> {
    const indexFile = join(distDir, 'index.html');
    let template: string;
    try {
      template = await readFile(indexFile, 'utf8');
    } catch {
      sendText(
        res,
        503,
        MISSING_BUNDLE_PAGE.replace('%ENDPOINT%', escapeHtml(opts.endpoint)),
        'text/html; charset=utf-8',
        head,
      );
      return;
    }
    // Function replacers: `$&`-style patterns in the config must stay literal.
    const html = template.replace(TITLE_PLACEHOLDER, () => titleHtml).replace(CONFIG_PLACEHOLDER, () => configJson);
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(html),
      // The page refers to unhashed app.js/app.css: always revalidate it.
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      // The full policy is in the page's <meta>; frame-ancestors only works as a header.
      'Content-Security-Policy': "frame-ancestors 'none'",
    });
    res.end(head ? undefined : html);
  }

  async function serveAsset(req: IncomingMessage, res: ServerResponse, rel: string, head: boolean): Promise<void> {
    const file = resolve(distDir, rel);
    if (!file.startsWith(distDir + sep)) {
      sendText(res, 400, 'Bad asset path\n', undefined, head);
      return;
    }
    const st: Stats | undefined = await stat(file).catch(() => undefined);
    if (!st?.isFile()) {
      const hint = existsSync(distDir) ? '' : ' (GraphiQL is not built: run `node scripts/build-graphiql.mjs`)';
      sendText(res, 404, `Not found${hint}\n`, undefined, head);
      return;
    }
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const immutable = HASHED_DIRS.some((d) => rel.startsWith(d));
    const headers: Record<string, string | number> = {
      'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      ETag: etag,
      'Last-Modified': st.mtime.toUTCString(),
      'X-Content-Type-Options': 'nosniff',
      // Lets the page's module script and workers load under a strict CORP setup.
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    headers['Content-Length'] = st.size;
    res.writeHead(200, headers);
    if (head) {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  return (req, res) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return false;
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return false;
    }
    // Raw path (before URL normalisation resolves '..' segments) for the checks.
    const rawPath = (req.url ?? '/').split(/[?#]/, 1)[0] ?? '/';
    const head = method === 'HEAD';

    if (pathname === '/' || pathname === '/index.html') {
      serveIndex(res, head).catch(() => {
        if (!res.headersSent) sendText(res, 500, 'Internal error\n');
        else res.destroy();
      });
      return true;
    }

    if (
      pathname === '/graphiql' ||
      pathname === GRAPHIQL_ASSET_PREFIX ||
      pathname === `${GRAPHIQL_ASSET_PREFIX}index.html`
    ) {
      // The page lives at '/'; the raw template must not be served.
      res.writeHead(302, { Location: '/', 'Content-Length': 0 });
      res.end();
      return true;
    }

    if (rawPath.startsWith(GRAPHIQL_ASSET_PREFIX) || pathname.startsWith(GRAPHIQL_ASSET_PREFIX)) {
      const rel = rawPath.startsWith(GRAPHIQL_ASSET_PREFIX)
        ? safeAssetPath(rawPath.slice(GRAPHIQL_ASSET_PREFIX.length))
        : null;
      if (rel === null) {
        sendText(res, 400, 'Bad asset path\n', undefined, head);
        return true;
      }
      serveAsset(req, res, rel, head).catch(() => {
        if (!res.headersSent) sendText(res, 500, 'Internal error\n');
        else res.destroy();
      });
      return true;
    }
    return false;
  };
}
