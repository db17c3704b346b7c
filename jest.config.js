// Three projects, one per kind of test; scripts/test.sh runs them all in one Jest process so
// the summary line counts every test. Integration and workflow tests share real services, so
// the whole run is in band.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'], transform },
    {
      displayName: 'workflows',
      testMatch: ['<rootDir>/test/workflows/**/*.test.ts'],
      transform,
      setupFiles: ['<rootDir>/test/support/load-test-env.ts'],
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform,
      setupFiles: ['<rootDir>/test/support/load-test-env.ts'],
    },
  ],
  testTimeout: 60_000,
};
