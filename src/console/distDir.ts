import { fileURLToPath } from 'node:url';

/** Where scripts/build-console.mjs writes the bundle: <project>/dist/console. */
export const DEFAULT_CONSOLE_DIST_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));
