/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  testTimeout: 60000,
  setupFiles: ['<rootDir>/test/helpers/state-dir.js'],
  // Integration tests spawn git, servers and dozens of processes: two cores are enough for two files at once.
  maxWorkers: 2,
};
