import { defineConfig } from '@playwright/test';

// Debian's Chromium, headless. --no-sandbox only here, in the test harness: the tests run as root
// (they start cages and mount devices) and Chromium's sandbox refuses root. The product never
// does this: npm start runs Chromium as the invoking user with its sandbox on (scripts/start.mjs,
// tested in scripts/start.test.ts). Background networking off: this machine's network is closed
// and Chromium would otherwise keep retrying.
export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  workers: 1,
  // The second run over the single root supervisor (runAllTests.mjs) writes its own report beside the default one.
  reporter: [['list'], ['json', { outputFile: process.env.CLOISON_E2E_REPORT ?? '../test-results/e2e.json' }]],
  outputDir: '../test-results/e2e',
  use: {
    viewport: { width: 1280, height: 800 },
    locale: 'fr-FR',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
});
