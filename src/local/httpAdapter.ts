import type { ApolloServer, BaseContext, HTTPGraphQLRequest } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { isAscii } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { liftDocumentId } from '../graphql/trustedDocuments';

export class PayloadTooLargeError extends Error {}

/** Reads a request body up to `limit` bytes (413 beyond it). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return; // drained and dropped, so the client can read our 413
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        reject(new PayloadTooLargeError(`request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * A request body as text. A body of ASCII bytes only — every JSON body whose
 * strings are ASCII or escaped, a base64 matrix included — is the same text
 * read as latin1, which copies bytes instead of decoding UTF-8 (a 4.5 MB
 * predictMatrix body: ≈ 20 ms less, measured on the 2-core build machine).
 */
export function bodyText(raw: Buffer): string {
  return isAscii(raw) ? raw.toString('latin1') : raw.toString('utf8');
}

function sendJsonError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/**
 * Serves Apollo Server over node:http: the same thing Apollo's integrations do,
 * with a body size limit and without Express.
 */
export function createGraphQLHttpHandler<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  context: (req: IncomingMessage) => Promise<TContext>,
  opts: { maxBodyBytes: number },
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: unknown = undefined;
    if (req.method === 'POST') {
      let raw: Buffer;
      try {
        raw = await readBody(req, opts.maxBodyBytes);
      } catch (err) {
        if (err instanceof PayloadTooLargeError) {
          res.setHeader('connection', 'close');
          return sendJsonError(res, 413, 'PAYLOAD_TOO_LARGE', err.message);
        }
        return sendJsonError(res, 400, 'BAD_REQUEST', 'could not read the request body');
      }
      const type = req.headers['content-type'] ?? '';
      if (type.includes('application/json') || type.includes('application/graphql-response+json')) {
        try {
          body = raw.length ? JSON.parse(bodyText(raw)) : undefined;
        } catch {
          return sendJsonError(res, 400, 'BAD_REQUEST', 'the request body is not valid JSON');
        }
      } else {
        body = bodyText(raw);
      }
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const httpGraphQLRequest: HTTPGraphQLRequest = liftDocumentId({
      method: req.method?.toUpperCase() ?? 'GET',
      headers,
      search: url.search,
      body,
    });
    const response = await server.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: () => context(req) });
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}
