import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/**/*.test.ts', 'supervisor/**/*.test.ts', 'renderer/**/*.test.{ts,tsx}', 'electron/**/*.test.ts', 'scripts/**/*.test.ts', 'deploy/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Cage tests start real sandboxes; two cores: keep files from piling up.
    maxWorkers: 2,
    setupFiles: ['vitest.setup.ts'],
  },
});
