import { resolve } from 'node:path';
import { startLocalServer } from './server';

/** `npm start`: the local GraphQL server with GraphiQL, on the embedded S3 server with demo models. */
async function main(): Promise<void> {
  // The SDK warns at start-up that releases after January 2027 need Node 22;
  // the local server supports Node >= 20 and says so in package.json.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const port = Number(process.env.PORT ?? 4000);
  const dataDir = resolve(process.env.MODELGRAPH_DATA_DIR ?? '.modelgraph');
  // Nobody reads the embedded S3 server's request log here (tests do): keep it small.
  const server = await startLocalServer({ port, dataDir, s3RequestLogLimit: 1_000 });
  const bucket = server.s3
    ? `embedded S3 at ${server.s3.endpoint} (data in ${dataDir}/s3)`
    : `s3://${server.runtime.bucket}`;
  console.log(`
  Modelgraph is running${server.seeded ? ' (bucket seeded with demo models)' : server.upgraded ? ' (demo models added since your bucket was seeded)' : ''}

    Console    ${server.consoleUrl}
    GraphiQL   ${server.url}
    GraphQL    ${server.graphqlUrl}
    Models     ${bucket}

  Try:
    curl -s ${server.graphqlUrl} -H 'content-type: application/json' \\
      -d '{"query":"{ assetsConnection(first: 5) { totalCount edges { node { ticker kind model { id production { version } } } } } }"}'

  The modelgraph CLI finds this server through ${dataDir}/server-url (npm run modelgraph -- --help).
  Mutations need a principal's token. The admin principal (every scope) has the one in ${dataDir}/admin-token
  (or MODELGRAPH_WRITE_TOKEN); add others with: npm run modelgraph -- token add NAME --scope models:write
    curl -s ${server.graphqlUrl} -H 'content-type: application/json' \\
      -H "Authorization: Bearer $(cat ${dataDir}/admin-token)" \\
      -d '{"query":"mutation { rollback(model: \\"etfs/SPY\\", reason: \\"try it\\") { fromVersion toVersion } }"}'
`);
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
