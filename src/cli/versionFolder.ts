import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BadUserInputError, InvalidModelError } from '../errors';
import { METADATA_FILE } from '../registry/bucketLayout';
import { ARTIFACT_FILES, type VersionFiles } from '../registry/versionDescription';

/** A version folder on disk, read for `modelgraph push`. */
export interface VersionFolder {
  path: string;
  files: VersionFiles;
  /** The parsed metadata.json. */
  description: Record<string, unknown>;
  /** Entries that are not version files and are not uploaded (hidden files are ignored silently). */
  skipped: string[];
}

/**
 * Reads model.onnx (or model.onnx.gz / model.onnx.br), feature_names.json,
 * labels.json (optional) and metadata.json (required) from `path`. What they must
 * contain is checked by describeVersion and validateVersion.
 */
export async function readVersionFolder(path: string): Promise<VersionFolder> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) throw new BadUserInputError(`${path} is not a folder`, { argument: 'folder' });
  const entries = await readdir(path, { withFileTypes: true });
  const files: VersionFiles = {};
  const skipped: string[] = [];
  let metadata: Buffer | undefined;
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.name === METADATA_FILE && entry.isFile()) metadata = await readFile(join(path, entry.name));
    else if (ARTIFACT_FILES.includes(entry.name) && entry.isFile())
      files[entry.name] = await readFile(join(path, entry.name));
    else skipped.push(entry.isDirectory() ? `${entry.name}/` : entry.name);
  }
  if (!metadata) {
    throw new InvalidModelError(
      `${path} has no ${METADATA_FILE}: it needs at least "strategies" (the class labels in the order of the model's probabilities columns), or add labels.json and an empty object {}`,
    );
  }
  let description: unknown;
  try {
    description = JSON.parse(metadata.toString('utf8'));
  } catch {
    throw new InvalidModelError(`${join(path, METADATA_FILE)} is not valid JSON`);
  }
  if (typeof description !== 'object' || description === null || Array.isArray(description)) {
    throw new InvalidModelError(`${join(path, METADATA_FILE)} must hold a JSON object`);
  }
  return { path, files, description: description as Record<string, unknown>, skipped: skipped.sort() };
}
