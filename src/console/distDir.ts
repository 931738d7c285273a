import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where scripts/build-console.mjs writes the bundle: <project>/dist/console. */
export const DEFAULT_CONSOLE_DIST_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/**
 * The bundle beside a module (`<dir of index.mjs>/console/`, where
 * scripts/build-lambda.mjs copies it into the Lambda function), else the
 * project's dist/console (running from source).
 */
export function consoleDistDirBeside(moduleUrl: string): string {
  const beside = fileURLToPath(new URL('./console/', moduleUrl));
  return existsSync(join(beside, 'index.html')) ? beside : DEFAULT_CONSOLE_DIST_DIR;
}
