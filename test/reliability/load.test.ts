import { describe, expect, it } from 'vitest';
import { formatReport, runLoadTest } from '../../scripts/loadtest';

/**
 * The short version of `npm run loadtest`: the local server in its own process
 * under autocannon for 15 s with predictions, queries and concurrent
 * promotions, with stocks/universal in shadow mode (counts flushed every
 * second and compacted every 10 files under the load). No request may fail
 * except the CONFLICTs the concurrent promotions are meant to produce, every
 * shadow-agreement answer must be consistent, and the server's memory must not
 * run away after warm-up. Latency is reported, not asserted (shared 2-core machine).
 */
describe('under load', () => {
  it('serves a 15 s mixed load with promotions without an unexpected failure or memory growth', async () => {
    // Act
    const report = await runLoadTest({
      durationSeconds: 15,
      warmupSeconds: 5,
      connections: 8,
      promoteEverySeconds: 2,
      log: () => undefined,
    });
    console.log(formatReport(report));
    // Assess
    expect(report.failureSamples).toEqual([]);
    expect(report.unexpectedFailures).toBe(0);
    expect(report.totalRequests).toBeGreaterThan(500);
    expect(report.deployments).toBeGreaterThan(3);
    expect(report.requestsByKind.shadowAgreement).toBeGreaterThan(0);
    // Production v1.1.0 was shadowed by staging v1.0.0 (v1.0.0 in production has no shadow: same version).
    expect(report.shadow.map((a) => [a.productionVersion, a.stagingVersion])).toEqual([['v1.1.0', 'v1.0.0']]);
    expect(report.shadow[0].rows).toBeGreaterThan(100);
    expect(report.rss.samples.length).toBeGreaterThan(5);
    expect(report.rss.maxMiB - report.rss.firstMiB).toBeLessThan(150);
  }, 55_000);
});
