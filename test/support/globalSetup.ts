import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Builds the GraphiQL bundle once before any test (a no-op when it is up to date), as `npm start` does. */
export default function setup(): void {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  execFileSync(process.execPath, [join(root, 'scripts/build-graphiql.mjs')], { cwd: root, stdio: 'inherit' });
}
