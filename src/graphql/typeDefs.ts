import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DocumentNode } from 'graphql';

/** Inlined by the Lambda build (esbuild `define`) so the bundle reads no files at start-up. */
declare const __MODELGRAPH_SDL__: string | undefined;
/**
 * The Lambda build's schema: JSON of the DocumentNode that graphql's `parse` gives for the SDL
 * (no locations), made at build time. JSON.parse of it costs less than parsing 31 KB of SDL at
 * every cold start (scripts/build-lambda.mjs; the `schema-at-startup` variant measures the difference).
 */
declare const __MODELGRAPH_SCHEMA_AST__: string | undefined;

/** The SDL of schema/*.graphql, concatenated in file-name order. */
export function loadTypeDefs(schemaDir?: string): string {
  if (typeof __MODELGRAPH_SDL__ === 'string') return __MODELGRAPH_SDL__;
  const dir = schemaDir ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../schema');
  return readSchemaDir(dir);
}

/** What the server builds its schema from: the pre-parsed document in the Lambda bundle, else the SDL. */
export function schemaTypeDefs(): DocumentNode | string {
  if (typeof __MODELGRAPH_SCHEMA_AST__ === 'string') return JSON.parse(__MODELGRAPH_SCHEMA_AST__) as DocumentNode;
  return loadTypeDefs();
}

export function readSchemaDir(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}
