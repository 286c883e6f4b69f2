import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // noVNC's package exports its RFB class alone: tests of what a cage's bytes do to its decoders
  // (renderer/viewer/*.attack.test.ts) import those decoders, and its vendored zlib (pako), by their place in the package.
  resolve: { alias: [{ find: /^@novnc\/novnc\/(core|vendor)\/(.*)$/, replacement: `${fileURLToPath(new URL('node_modules/@novnc/novnc/', import.meta.url))}$1/$2` }] },
  test: {
    include: ['shared/**/*.test.ts', 'supervisor/**/*.test.ts', 'renderer/**/*.test.{ts,tsx}', 'electron/**/*.test.ts', 'scripts/**/*.test.ts', 'deploy/**/*.test.ts', 'bench/lib/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Cage tests start real sandboxes; two cores: keep files from piling up.
    maxWorkers: 2,
    setupFiles: ['vitest.setup.ts'],
  },
});
