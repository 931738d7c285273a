// `npm run schema:check`: fails when the schema (schema/*.graphql) breaks the
// last released one (schema/released/schema.graphql) in a way CHANGELOG.md's
// `## Unreleased` → `### Breaking changes` does not name by its coordinate.
//
//   --schema-dir <dir>   the schema files (default schema/)
//   --released <file>    the released schema (default schema/released/schema.graphql)
//   --changelog <file>   the changelog (default CHANGELOG.md)
//   --release            write the current schema as the released one (at a release)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { checkContract, pathOf, printContract } from '../src/contract/schemaDiff';
import { readSchemaDir } from '../src/graphql/typeDefs';
import { MODELGRAPH_VERSION } from '../src/version';

const root = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    'schema-dir': { type: 'string', default: join(root, 'schema') },
    released: { type: 'string', default: join(root, 'schema/released/schema.graphql') },
    changelog: { type: 'string', default: join(root, 'CHANGELOG.md') },
    release: { type: 'boolean', default: false },
  },
});

const current = printContract(readSchemaDir(values['schema-dir']));
if (values.release) {
  const header = `# The last released schema: Modelgraph ${MODELGRAPH_VERSION}.\n# \`npm run schema:check\` diffs schema/*.graphql against it. Never edit it by hand.\n`;
  // Formatted as `npm test`'s prettier --check wants it.
  const options = (await prettier.resolveConfig(values.released)) ?? {};
  writeFileSync(values.released, await prettier.format(header + current, { ...options, parser: 'graphql' }));
  console.log(`schema:check: wrote ${values.released}`);
  process.exit(0);
}
const report = await checkContract(
  readFileSync(values.released, 'utf8'),
  current,
  readFileSync(values.changelog, 'utf8'),
);
for (const c of report.dangerous) console.log(`dangerous  ${pathOf(c)}: ${c.message}`);
for (const c of report.breaking)
  console.log(`breaking   ${pathOf(c)}: ${c.message}${report.unrecorded.includes(c) ? '  ← NOT IN CHANGELOG' : ''}`);
if (report.unrecorded.length) {
  console.error(
    `\nschema:check: ${report.unrecorded.length} breaking change(s) against the released schema are not recorded.\n` +
      `Name each under "## Unreleased" → "### Breaking changes" in ${values.changelog}, e.g.\n` +
      report.unrecorded.map((c) => `  - \`${pathOf(c)}\`: ${c.message}`).join('\n'),
  );
  process.exit(1);
}
console.log(
  `schema:check: ok (${report.breaking.length} breaking, all recorded; ${report.dangerous.length} dangerous)`,
);
