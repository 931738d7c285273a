// `npm run build:client`: the installable typed client, @modelgraph/client, in dist/client/:
//
//   index.js                    ESM (esbuild): the generated TypedDocumentNodes, cacheConfig, documentIdOf
//   types/**/*.d.ts             declarations (tsc), relative imports with .js so any moduleResolution finds them
//   schema.graphql              the whole SDL, one printed schema
//   introspection.json          { "__schema": … } for tools that want introspection
//   persisted-documents.json    trusted documents: "sha256:<hex>" → document
//   package.json                with an `exports` map; README.md
//
// `npm pack dist/client` makes the tarball frontend teams install. The build
// goes to a scratch folder that replaces dist/client at the end.
import { build } from 'esbuild';
import { buildSchema, introspectionFromSchema } from 'graphql';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { printContract } from '../src/contract/schemaDiff';
import { readSchemaDir } from '../src/graphql/typeDefs';
import { MODELGRAPH_VERSION } from '../src/version';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist/client');
const scratch = join(root, 'dist', `.client-${process.pid}`);
const ENTRY = 'src/clientPackage/index.ts';
const TYPES_ENTRY = './types/clientPackage/index.d.ts';

const README = `# @modelgraph/client

The typed client contract of Modelgraph's GraphQL API, built by \`npm run build:client\`.

\`\`\`ts
import { AssetModelDocument, cacheConfig, documentIdOf } from '@modelgraph/client';
import { print } from 'graphql';

// Any GraphQL client that understands TypedDocumentNode infers data and variables:
//   const { data } = await apolloClient.query({ query: AssetModelDocument, variables: { ticker: 'SPY' } });
//   new InMemoryCache(cacheConfig)
// Over plain fetch, by trusted-document id (TRUSTED_DOCUMENTS=enforce accepts only these):
const res = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ documentId: documentIdOf(AssetModelDocument), variables: { ticker: 'SPY' } }),
});
\`\`\`

Also in the package: \`@modelgraph/client/schema.graphql\` (the whole SDL),
\`@modelgraph/client/introspection.json\` and \`@modelgraph/client/persisted-documents.json\`.
`;

function step<T>(name: string, fn: () => T): T {
  const started = performance.now();
  const value = fn();
  console.log(`build:client: ${name} (${Math.round(performance.now() - started)} ms)`);
  return value;
}

rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
try {
  await build({
    entryPoints: [join(root, ENTRY)],
    outfile: join(scratch, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    legalComments: 'none',
    logLevel: 'warning',
  });

  step('declarations (tsc)', () => {
    const tsconfig = join(scratch, 'tsconfig.types.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        compilerOptions: {
          declaration: true,
          emitDeclarationOnly: true,
          outDir: join(scratch, 'types'),
          rootDir: join(root, 'src'),
          module: 'ESNext',
          moduleResolution: 'Bundler',
          target: 'ES2022',
          strict: true,
          skipLibCheck: true,
          types: [],
        },
        files: [join(root, ENTRY)],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], {
      encoding: 'utf8',
    });
    if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
    rmSync(tsconfig);
    // Node16/NodeNext resolution needs the extension on relative imports of an ESM package.
    for (const file of walk(join(scratch, 'types')).filter((f) => f.endsWith('.d.ts'))) {
      const text = readFileSync(file, 'utf8').replace(
        /(from\s+['"])(\.{1,2}\/[^'"]+?)(['"])/g,
        (_m, a: string, spec: string, b: string) => `${a}${spec.endsWith('.js') ? spec : `${spec}.js`}${b}`,
      );
      writeFileSync(file, text);
    }
  });

  step('schema.graphql, introspection.json, persisted-documents.json', () => {
    const sdl = printContract(readSchemaDir(join(root, 'schema')));
    writeFileSync(join(scratch, 'schema.graphql'), sdl);
    writeFileSync(
      join(scratch, 'introspection.json'),
      `${JSON.stringify(introspectionFromSchema(buildSchema(sdl), { descriptions: true }), null, 2)}\n`,
    );
    cpSync(join(root, 'src/generated/client/persisted-documents.json'), join(scratch, 'persisted-documents.json'));
  });

  const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const installed = (name: string) => lock.packages?.[`node_modules/${name}`]?.version as string | undefined;
  const pkg = {
    name: '@modelgraph/client',
    version: MODELGRAPH_VERSION,
    description:
      "The typed client contract of Modelgraph's GraphQL API: TypedDocumentNodes, schema types, SDL, introspection and trusted documents.",
    license: rootPackage.license ?? 'UNLICENSED',
    type: 'module',
    sideEffects: false,
    types: TYPES_ENTRY,
    exports: {
      '.': { types: TYPES_ENTRY, import: './index.js', default: './index.js' },
      './schema.graphql': './schema.graphql',
      './introspection.json': './introspection.json',
      './persisted-documents.json': './persisted-documents.json',
      './package.json': './package.json',
    },
    files: ['index.js', 'types', 'schema.graphql', 'introspection.json', 'persisted-documents.json', 'README.md'],
    // The declarations name TypedDocumentNode; the code itself imports nothing.
    dependencies: {
      '@graphql-typed-document-node/core': `^${installed('@graphql-typed-document-node/core') ?? '3.2.0'}`,
    },
    peerDependencies: { graphql: '^16.0.0' },
  };
  writeFileSync(join(scratch, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(scratch, 'README.md'), README);

  rmSync(out, { recursive: true, force: true });
  renameSync(scratch, out);
  const bytes = walk(out).reduce((n, f) => n + statSync(f).size, 0);
  console.log(
    `build:client: ${relative(root, out)}/ (${pkg.name}@${pkg.version}, ${(bytes / 1024).toFixed(0)} KiB); npm pack ${relative(root, out)} makes the tarball`,
  );
} catch (err) {
  rmSync(scratch, { recursive: true, force: true });
  throw err;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}
