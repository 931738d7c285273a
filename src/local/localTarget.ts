/**
 * How other processes (the `modelgraph` CLI) find the bucket of a running local
 * server. Kept apart from server.ts so the CLI does not load the server.
 */

/** The embedded S3 server's bucket. */
export const LOCAL_BUCKET = 'modelgraph-local';

/**
 * While the local server runs on the embedded S3 server, this file in its data
 * folder holds the S3 endpoint, so the CLI reaches the same bucket without
 * configuration. Removed on close.
 */
export const S3_ENDPOINT_FILE = 's3-endpoint';

/**
 * While the local server runs, this file in its data folder holds its GraphQL
 * URL, so the CLI sends its mutations to the same server without
 * configuration. Removed on close (unless another server has since written it).
 */
export const SERVER_URL_FILE = 'server-url';
