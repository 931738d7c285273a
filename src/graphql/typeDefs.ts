import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Inlined by the Lambda build (esbuild `define`) so the bundle reads no files at start-up. */
declare const __MODELGRAPH_SDL__: string | undefined;

/** The SDL of schema/*.graphql, concatenated in file-name order. */
export function loadTypeDefs(schemaDir?: string): string {
  if (typeof __MODELGRAPH_SDL__ === 'string') return __MODELGRAPH_SDL__;
  const dir = schemaDir ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../schema');
  return readSchemaDir(dir);
}

export function readSchemaDir(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}
