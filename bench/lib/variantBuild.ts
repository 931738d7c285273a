/**
 * "What would it give?" — the Lambda function built by the project's own build
 * script from a temporary copy of the sources with small, named patches applied,
 * so a proposed change is measured before anyone makes it. Patches are string
 * replacements; one whose anchor is no longer in the source is skipped and
 * reported (the sources move under us), never guessed.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, targetFromDist, type LambdaTarget } from './lambdaTarget';

export interface SourcePatch {
  name: string;
  /** What the change is, for the report. */
  description: string;
  edits: Array<{ file: string; replacements: Array<[anchor: string, replacement: string]> }>;
}

/** The changes this benchmark recommends, each small enough to state in one line. */
export const PROPOSED_PATCHES: SourcePatch[] = [
  {
    name: 'ort-import-overlapped',
    description:
      'src/inference/modelBundle.ts fetchVersionArtifacts(): start `onnxRuntime()` before the downloads, so loading the native addon overlaps the S3 GETs',
    edits: [
      {
        file: 'src/inference/modelBundle.ts',
        replacements: [
          [
            'metadata: VersionMetadata): Promise<LoadedArtifacts> {\n',
            'metadata: VersionMetadata): Promise<LoadedArtifacts> {\n  void onnxRuntime().catch(() => undefined);\n',
          ],
        ],
      },
    ],
  },
  {
    name: 'disk-write-in-background',
    description:
      'src/inference/artifactSource.ts fetch(): `void this.disk.write(…)` instead of `await`: the disk cache write leaves the request path',
    edits: [
      {
        file: 'src/inference/artifactSource.ts',
        replacements: [
          [
            'if (this.disk) await this.disk.write(expected.sha256, body)',
            'if (this.disk) void this.disk.write(expected.sha256, body)',
          ],
        ],
      },
    ],
  },
  {
    name: 'sha256-while-downloading',
    description:
      'src/storage/objectStore.ts getIfChanged(): read the body with `for await` and update a sha256 per chunk (instead of transformToByteArray), hand the digest to ArtifactSource.fetch() (src/inference/artifactSource.ts), which then skips its own pass over the bytes',
    edits: [
      {
        file: 'src/storage/objectStore.ts',
        replacements: [
          [
            "import { ObjectNotFoundError, PreconditionFailedError, StorageUnavailableError } from './errors';",
            "import { createHash as benchCreateHash } from 'node:crypto';\nimport { ObjectNotFoundError, PreconditionFailedError, StorageUnavailableError } from './errors';",
          ],
          [
            'const bytes = await out.Body!.transformToByteArray();\n        const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);',
            "const hash = benchCreateHash('sha256');\n        const chunks: Buffer[] = [];\n        for await (const chunk of out.Body as unknown as AsyncIterable<Buffer>) {\n          hash.update(chunk);\n          chunks.push(chunk);\n        }\n        const body = Buffer.concat(chunks);\n        (body as Buffer & { sha256?: string }).sha256 = hash.digest('hex');",
          ],
        ],
      },
      {
        file: 'src/inference/artifactSource.ts',
        replacements: [
          [
            'const actual = sha256(body);',
            'const actual = (body as Buffer & { sha256?: string }).sha256 ?? sha256(body);',
          ],
        ],
      },
    ],
  },
  {
    name: 'cache-control-plugin-off',
    description:
      'src/graphql/server.ts: add `ApolloServerPluginCacheControlDisabled()` (the schema has no cache hints; the plugin wraps every field resolver) and a 3-line plugin that keeps the `cache-control: no-store` header it sent',
    edits: [
      {
        file: 'src/graphql/server.ts',
        replacements: [
          [
            "import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';",
            "import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';",
          ],
          [
            'plugins: [ApolloServerPluginLandingPageDisabled(),',
            "plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), { async requestDidStart() { return { async willSendResponse({ response }) { response.http.headers.set('cache-control', 'no-store'); } }; } },",
          ],
        ],
      },
    ],
  },
  {
    name: 'no-per-field-metrics-hook',
    description:
      'src/observability/apolloMetricsPlugin.ts: drop the willResolveField hook (measured here by disabling executionDidStart; PredictionLatency would have to come from the resolver or the Predictor instead): any willResolveField makes Apollo wrap every field resolver',
    edits: [
      {
        file: 'src/observability/apolloMetricsPlugin.ts',
        replacements: [['async executionDidStart() {', 'async executionDidStartDisabledByBench() {']],
      },
    ],
  },
];

export interface VariantBuild {
  target: LambdaTarget;
  applied: SourcePatch[];
  skipped: Array<{ name: string; reason: string }>;
  buildMs: number;
}

export function buildVariant(patches: SourcePatch[], log: (line: string) => void): VariantBuild | undefined {
  const script = join(REPO_ROOT, 'scripts/build-lambda.mjs');
  if (!existsSync(script)) {
    log('what-if: no scripts/build-lambda.mjs, skipped');
    return undefined;
  }
  const root = mkdtempSync(join(tmpdir(), 'modelgraph-bench-variant-'));
  try {
    for (const entry of ['src', 'resolvers', 'schema', 'scripts', 'package.json', 'tsconfig.json']) {
      if (existsSync(join(REPO_ROOT, entry))) cpSync(join(REPO_ROOT, entry), join(root, entry), { recursive: true });
    }
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    const applied: SourcePatch[] = [];
    const skipped: VariantBuild['skipped'] = [];
    for (const patch of patches) {
      // All edits of a patch apply, or none.
      const texts = new Map<string, string>();
      let problem: string | undefined;
      for (const edit of patch.edits) {
        const file = join(root, edit.file);
        if (!existsSync(file)) {
          problem = `${edit.file} does not exist`;
          break;
        }
        let text = texts.get(file) ?? readFileSync(file, 'utf8');
        const missing = edit.replacements.find(([anchor]) => !text.includes(anchor));
        if (missing) {
          problem = `anchor not found in ${edit.file}: ${missing[0].slice(0, 60)}`;
          break;
        }
        for (const [anchor, replacement] of edit.replacements) text = text.replace(anchor, replacement);
        texts.set(file, text);
      }
      if (problem) {
        skipped.push({ name: patch.name, reason: problem });
        continue;
      }
      for (const [file, text] of texts) writeFileSync(file, text);
      applied.push(patch);
    }
    const started = performance.now();
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const res = spawnSync(process.execPath, [join(root, 'scripts/build-lambda.mjs')], {
      cwd: root,
      encoding: 'utf8',
      env,
    });
    const buildMs = performance.now() - started;
    if (res.status !== 0) throw new Error(`what-if build failed:\n${res.stdout}${res.stderr}`);
    const target = targetFromDist(join(root, 'dist/lambda'), 'patched copy: dist/lambda', log);
    if (!target) throw new Error('what-if build produced no dist/lambda');
    log(
      `what-if: built the function with ${applied.map((p) => p.name).join(', ') || 'no patch'}${skipped.length ? ` (skipped: ${skipped.map((x) => x.name).join(', ')})` : ''}`,
    );
    return { target, applied, skipped, buildMs };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
