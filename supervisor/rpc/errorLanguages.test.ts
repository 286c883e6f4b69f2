/**
 * Every CloisonError the supervisor raises reaches the shell through RPC, where a French shell
 * shows its French text (renderer/supervisorText.ts); one given in English only shows just its
 * code's generic meaning. This walks the supervisor's sources and checks each raise gives both
 * languages, or is on the short list below of errors no user meets (each with why).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');

/** Raises left in English on purpose: protocol faults between Cloison's own parts, not a user's doing. */
const ENGLISH_ONLY: Record<string, string> = {
  'cages/bwrapDriver.ts': 'the VNC socket served by another process: an attack on the gateway, shown as its code',
  'cages/cageLauncher.ts': 'checks of a launch request built by Cloison itself (argv, environment, input size) and answers out of protocol: the menu shows the code\'s meaning',
  'cageManager/cageManagerClient.ts': 'the root cage manager\'s answers to the unprivileged part: a protocol between Cloison\'s own parts, no person reads these',
  'cageManager/appLaunchExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/cageStartExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/cageStopExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/cageWaitExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/cardProxyExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/filesHelperExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/homeMountExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/homeUnmountExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/soundFifosExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/soundHostExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/trainingDocumentExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/trainingSpoofExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/xHelperRunExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/xScreenSizeExecutor.ts': 'the root cage manager\'s answers to the unprivileged part (its state: starting, mounting, not running; its own faults): a protocol between Cloison\'s own parts, turned into a user\'s words by the part from the code',
  'cageManager/remoteCageDriver.ts': 'the unprivileged part\'s cage driver: its errors reach a person through the cage\'s status detail, which words a technical detail in French (cages/cageDetailText.ts)',
  'cageManager/vncSocketExecutor.ts': 'a socket asked of the cage manager by the gateway: the viewer sees the code\'s meaning (cage unavailable)',
  'gateway/ticketRegistry.ts': 'VNC tickets: the viewer reconnects with a new one, no person reads these',
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testing' ? [] : sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The text of each `new CloisonError(code, message)` (its message argument's start). */
function raises(file: string): Array<{ line: number; message: string }> {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/new CloisonError\(\s*([^,]+),\s*([^\n]{0,60})/g)].map((m) => ({
    line: text.slice(0, m.index).split('\n').length,
    message: m[2]!.trim(),
  }));
}

// A message in both languages: bilingual(...), a translator of English by shape, a broker's reason
// table, or a variable the type checker knows is Bilingual (CloisonError takes string | Bilingual).
const BILINGUAL = /^(bilingual\(|usbText\(|why_\.|reason\)|refusal\))/;

describe('CloisonError messages in both languages', () => {
  const all = sources(ROOT).flatMap((file) => raises(file).map((r) => ({ file: relative(ROOT, file), ...r })));

  it('finds the raises it checks', () => {
    expect(all.length).toBeGreaterThan(55);
  });

  it('every raise a user can meet gives French and English', () => {
    const english = all.filter((r) => !BILINGUAL.test(r.message) && !(r.file in ENGLISH_ONLY)).map((r) => `${r.file}:${r.line} ${r.message}`);
    expect(english).toEqual([]);
  });

  it('no file on the English-only list has become bilingual unnoticed (the list stays honest)', () => {
    for (const file of Object.keys(ENGLISH_ONLY)) expect(all.some((r) => r.file === file && !BILINGUAL.test(r.message)), file).toBe(true);
  });
});
