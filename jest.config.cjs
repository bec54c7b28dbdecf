/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': '<rootDir>/tests/esbuild-transform.cjs' },
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/tests/summary-reporter.cjs'],
  // Unit tests first: they are fast and say most about a broken change.
  testSequencer: '<rootDir>/tests/sequencer.cjs',
};
