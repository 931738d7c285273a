/**
 * `npm run schema:check` as a developer meets it: a breaking change made on
 * purpose in a copy of the schema fails the check until CHANGELOG.md's
 * unreleased section names it; the repository's own schema passes.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordedBreakingChanges } from '../../src/contract/schemaDiff';

const ROOT = join(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'modelgraph-schema-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function schemaCheck(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/schema-check.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { code: run.status, out: run.stdout + run.stderr };
}

describe('schema:check', () => {
  it('passes on the repository: every breaking change since 0.1.0 is in CHANGELOG.md', () => {
    const { code, out } = schemaCheck();
    expect(out).toContain('breaking   Prediction.stage');
    expect(code, out).toBe(0);
  });

  it('fails on a breaking change made on purpose, and passes once CHANGELOG.md records it', () => {
    // Prepare: the schema with Asset.sector removed and an argument made required.
    const schemaDir = join(scratch, 'schema');
    cpSync(join(ROOT, 'schema'), schemaDir, { recursive: true, filter: (src) => !src.includes('released') });
    const asset = join(schemaDir, 'asset.graphql');
    const sdl = readFileSync(asset, 'utf8');
    const broken = sdl.replace(/\n\s*"Sector or category, e\.g\. `Semiconductors`\."\n\s*sector: String/, '');
    expect(broken).not.toBe(sdl);
    writeFileSync(asset, broken);
    const changelog = join(scratch, 'CHANGELOG.md');
    writeFileSync(changelog, readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8'));
    const args = ['--schema-dir', schemaDir, '--changelog', changelog];

    // Act
    const refused = schemaCheck(...args);
    // Assess
    expect(refused.code, refused.out).toBe(1);
    expect(refused.out).toContain('Asset.sector');
    expect(refused.out).toMatch(/1 breaking change\(s\) .* not recorded/);

    // Recorded under another release's heading, it still does not count.
    writeFileSync(
      changelog,
      `${readFileSync(changelog, 'utf8')}\n### Breaking changes\n\n- \`Asset.sector\` removed.\n`,
    );
    expect(schemaCheck(...args).code).toBe(1);

    // Act: recorded where it belongs.
    const text = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8').replace(
      '### Breaking changes\n',
      '### Breaking changes\n\n- `Asset.sector` is removed: read it from the asset registry.\n',
    );
    writeFileSync(changelog, text);
    const accepted = schemaCheck(...args);
    // Assess
    expect(accepted.code, accepted.out).toBe(0);
    expect(accepted.out).toContain('schema:check: ok (2 breaking, all recorded');
  });

  it('reads only the Breaking changes list of the Unreleased section', () => {
    const recorded = recordedBreakingChanges(
      [
        '# Changelog',
        '## Unreleased',
        '### Added',
        '- `Query.node`',
        '### Breaking changes',
        '- `Prediction.stage` and `Deployment.id` changed.',
        '## 0.1.0',
        '### Breaking changes',
        '- `Asset.sector`',
      ].join('\n'),
    );
    expect([...recorded]).toEqual(['Prediction.stage', 'Deployment.id']);
  });
});
