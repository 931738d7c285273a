import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    // s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node >= 17
    // only offers with the OpenSSL legacy provider (see DESIGN.md).
    pool: 'forks',
    execArgv: ['--openssl-legacy-provider'],
    // The SDK's "Node 22 from 2027" notice would repeat in every worker.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
