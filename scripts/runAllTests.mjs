// npm test: builds, type-checks, lints, then runs every test runner (vitest for unit and
// integration tests with real cages, Playwright for end to end in Chromium) and ends with one line
// "N passed, N failed, N skipped" summing them all. Exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

const results = { passed: 0, failed: 0, skipped: 0 };
/** The end-to-end specs run a second time over the single root supervisor (npm start -- --single). */
const SINGLE_SPECS = ['e2e/clipboard.spec.ts', 'e2e/appLauncher.spec.ts', 'e2e/cageScreen.spec.ts'];
const skipped = [];
/** Every failure with the start of its message, printed again just before the counts: a CI log's tail says what failed. */
const failures = [];
const FAILURE_LINES = 12;
/** Its first lines, stack frames left out (a CI log's reader wants what was expected and seen). */
const firstLines = (message) => String(message).split('\n').filter((line) => !/^\s+at /.test(line)).slice(0, FAILURE_LINES).join('\n    ');

function step(name, command, args, env = {}) {
  process.stdout.write(`\n== ${name}: ${command} ${args.join(' ')}\n`);
  const r = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}

// Build, type-check and lint count as one check each: a failure there fails the run.
for (const [name, cmd, args] of [
  ['build', 'npm', ['run', '--silent', 'build']],
  ['typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['lint', 'npx', ['eslint', '.']],
  ['Electron security scan (Electronegativity)', 'node', ['scripts/electronSecurityScan.mjs']],
]) {
  if (step(name, cmd, args)) results.passed++;
  else {
    results.failed++;
    failures.push(`${name} failed (its output above)`);
    if (name === 'build') finish(); // nothing below can run without the build
  }
}

rmSync('test-results', { recursive: true, force: true });
mkdirSync('test-results', { recursive: true });

step('unit and integration tests (vitest)', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile=test-results/vitest.json']);
countVitest('test-results/vitest.json');

// Every spec over the split supervisor, as npm start runs it (#29): the root cage manager and the
// supervisor as its unprivileged cloison part (CLOISON_SPLIT=1 said here, whatever the caller's).
step('end-to-end tests over the split supervisor (Playwright, Chromium; cage manager + cloison part)', 'npx', ['playwright', 'test', '-c', 'e2e/playwright.config.ts'], { CLOISON_SPLIT: '1' });
countPlaywright('test-results/e2e.json', 'end-to-end (split)');

// The same shell over the single root supervisor (npm start -- --single, CLOISON_SPLIT=0), which
// stays for whoever needs it: the specs that cross every subsystem (viewers, X tools, apps, files).
step('end-to-end tests over the single root supervisor', 'npx', ['playwright', 'test', '-c', 'e2e/playwright.config.ts', ...SINGLE_SPECS], { CLOISON_SPLIT: '0', CLOISON_E2E_REPORT: '../test-results/e2e-single.json' });
countPlaywright('test-results/e2e-single.json', 'end-to-end (single)');

finish();

function countVitest(file) {
  if (!existsSync(file)) return missing('vitest', file);
  const report = JSON.parse(readFileSync(file, 'utf8'));
  for (const suite of report.testResults ?? []) {
    for (const t of suite.assertionResults ?? []) {
      if (t.status === 'passed') results.passed++;
      else if (t.status === 'failed') {
        results.failed++;
        failures.push(`vitest ${suite.name?.replace(`${process.cwd()}/`, '')} > ${t.fullName}: ${firstLines((t.failureMessages ?? []).join('\n'))}`);
      } else {
        results.skipped++;
        skipped.push(`${t.fullName} — ${t.meta?.skipReason ?? 'no reason given'}`);
      }
    }
    // A file that failed to load has no assertions but must count as a failure.
    if ((suite.assertionResults ?? []).length === 0 && suite.status === 'failed') {
      results.failed++;
      failures.push(`vitest ${suite.name} did not load: ${firstLines(suite.message ?? '')}`);
    }
  }
}

function countPlaywright(file, run) {
  if (!existsSync(file)) return missing('playwright', file);
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const walk = (suite) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        const last = t.results?.at(-1);
        if (t.status === 'skipped') {
          results.skipped++;
          const reason = t.annotations?.find((a) => a.type === 'skip')?.description ?? 'no reason given';
          skipped.push(`${spec.title} — ${reason}`);
        } else if (t.status === 'expected' || t.status === 'flaky') results.passed++;
        else {
          results.failed++;
          if (last?.error?.message) process.stdout.write(`FAILED ${spec.title}: ${last.error.message.split('\n')[0]}\n`);
          failures.push(`${run} ${spec.file}:${spec.line} ${spec.title}: ${firstLines(last?.error?.message ?? t.status)}`);
        }
      }
    }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const suite of report.suites ?? []) walk(suite);
  for (const err of report.errors ?? []) {
    results.failed++;
    process.stdout.write(`Playwright error: ${String(err.message).split('\n')[0]}\n`);
    failures.push(`${run} error: ${firstLines(err.message)}`);
  }
}

function missing(runner, file) {
  process.stdout.write(`${runner} wrote no report (${file}): counted as a failure\n`);
  failures.push(`${runner} wrote no report (${file})`);
  results.failed++;
}

function finish() {
  if (failures.length) process.stdout.write(`\nFailed:\n${failures.map((f) => `  - ${f.replace(/\x1b\[[0-9;]*m/g, '')}`).join('\n')}\n`);
  if (skipped.length) process.stdout.write(`\nSkipped, with the reason:\n${skipped.map((s) => `  - ${s}`).join('\n')}\n`);
  process.stdout.write(`\n${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped\n`);
  process.exit(results.failed > 0 ? 1 : 0);
}
