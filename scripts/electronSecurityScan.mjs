// Runs Electronegativity over the Electron host as shipped (main, preload, window options and the
// renderer's HTML) and fails on any finding that is not in the reviewed suppression list.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const scanDir = mkdtempSync(join(tmpdir(), 'cloison-electronegativity-'));
try {
  // Unbundled transpile: findings point at our code, not at bundled libraries.
  await build({
    entryPoints: ['electron/main.ts', 'electron/preload.ts', 'electron/windowOptions.ts', 'electron/supervisorLink.ts'].map((f) => join(root, f)),
    outdir: join(scanDir, 'electron'),
    format: 'cjs',
    platform: 'node',
    logLevel: 'error',
  });
  cpSync(join(root, 'out/renderer/index.html'), join(scanDir, 'renderer/index.html'), { recursive: true });
  // The window's options come from one function (electron/windowOptions.ts); the scanner only
  // reads \`new BrowserWindow({...})\` literals, so give it the options as they evaluate.
  await build({ entryPoints: [join(root, 'electron/windowOptions.ts')], outfile: join(scanDir, 'options.mjs'), format: 'esm', platform: 'node', logLevel: 'error' });
  const { shellWindowOptions } = await import(join(scanDir, 'options.mjs'));
  const literal = (kiosk) => JSON.stringify(shellWindowOptions('/opt/cloison/preload.cjs', kiosk), null, 2);
  writeFileSync(join(scanDir, 'electron/windowOptions.evaluated.js'), `const { BrowserWindow } = require('electron');\nnew BrowserWindow(${literal(true)});\nnew BrowserWindow(${literal(false)});\n`);
  rmSync(join(scanDir, 'options.mjs'));
  const electronVersion = JSON.parse(readFileSync(join(root, 'node_modules/electron/package.json'), 'utf8')).version;
  const report = join(scanDir, 'report.sarif');
  const run = spawnSync('npx', ['electronegativity', '-i', scanDir, '-e', electronVersion, '-o', report, '-v', 'false'], { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) {
    console.error(run.stdout, run.stderr);
    throw new Error(`electronegativity exited ${run.status}`);
  }
  const sarif = JSON.parse(readFileSync(report, 'utf8'));
  const suppressions = JSON.parse(readFileSync(join(root, 'electron/electronegativity-suppressions.json'), 'utf8')).suppressions;
  const findings = (sarif.runs?.[0]?.results ?? []).map((r) => ({
    check: r.ruleId,
    message: String(r.message?.text ?? ''),
    severity: String(r.level ?? ''),
    file: String(r.locations?.[0]?.physicalLocation?.artifactLocation?.uri ?? 'N/A'),
  }));
  // A suppression names the check and, where given, the exact message: the same check saying
  // something else (a missing CSP rather than a "maybe weak" one) is a new finding.
  const isSuppressed = (f) => suppressions.some((s) => s.check === f.check && (!s.message || s.message === f.message));
  const open = findings.filter((f) => !isSuppressed(f));
  for (const f of findings) console.log(`${isSuppressed(f) ? 'suppressed' : 'FINDING   '} ${f.check} (${f.severity}) ${f.file.replace(scanDir, '')}: ${f.message}`);
  if (open.length > 0) {
    console.error(`electronegativity: ${open.length} finding(s) not explained in electron/electronegativity-suppressions.json`);
    process.exit(1);
  }
  console.log(`electronegativity: ${findings.length} finding(s), all reviewed`);
} finally {
  if (!process.env.KEEP_SCAN) rmSync(scanDir, { recursive: true, force: true });
}
