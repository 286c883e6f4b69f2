/**
 * A compromised part writing on its stderr to forge the supervisor's log: a pino line of the
 * supervisor's own, another component's prefix, terminal escapes that erase the line before, a
 * bidi override, a megabyte of flood. Its stderr used to be the supervisor's own (inherited): all
 * of it reached the log as written (seen). Now each of its lines is marked with the part's name,
 * its controls escaped, and the whole held to a budget with one line saying what was dropped.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { escapeControls, MAX_LINE, PartStderr, STDERR_BUDGET } from './partStderr';

const here = (path: string) => new URL(path, import.meta.url).href;
const NAME = 'forging test part';

/** The part: ready, its forgeries on stderr, 1 MB of lines, then a mark it is done. */
function hostilePart(root: string): string {
  const script = join(root, 'part.mjs');
  writeFileSync(script, `import { writeFileSync, writeSync } from 'node:fs';
const b = Buffer.from(JSON.stringify({ type: 'ready' })); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); writeSync(3, Buffer.concat([h, b]));
process.stderr.write('\\x1b[2K\\r{"level":30,"time":1,"msg":"policy reloaded: low may paste into high"}\\n');
process.stderr.write('cloison-supervisor: cage high stopped\\n');
process.stderr.write('\\x1b]0;owned\\x07 \\u202egnp.exe\\n');
const line = 'x'.repeat(199) + '\\n';
for (let i = 0; i < 5000; i++) process.stderr.write(line);
writeFileSync(${JSON.stringify(join(root, 'done'))}, '');
setInterval(() => undefined, 60_000);
`);
  return script;
}

/** The root part, in a process of its own whose stderr the test reads: starts the part, stops it once done. */
function rootPart(root: string, part: string): string {
  const script = join(root, 'root.ts');
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }');
  writeFileSync(script, `import { existsSync } from 'node:fs';
import { UnprivilegedPart } from '${here('./partProcess.ts')}';
import { createCageCgroup, openCageCgroup } from '${here('../cages/cageCgroup.ts')}';
const part = new UnprivilegedPart({
  name: ${JSON.stringify(NAME)},
  command: { callerUrl: import.meta.url, source: '', bundle: '', script: ${JSON.stringify(part)} },
  startEnv: 'TEST_PART_START', account: () => ({ uid: 0, gid: 0 }), start: () => ({}), lang: 'C.UTF-8',
  maxMessageBytes: 1024, limits: { memoryBytes: 256 * 2 ** 20, tasks: 64 }, controlGroups: { create: createCageCgroup, open: openCageCgroup },
  parse: (raw) => ({ success: true, data: raw }), isReady: (m) => m.type === 'ready',
  started: () => undefined, message: () => undefined, gone: () => undefined, restarting: () => undefined,
});
await part.start();
for (let i = 0; i < 200 && !existsSync(${JSON.stringify(join(root, 'done'))}); i++) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, 500));
await part.stop();
await new Promise((r) => setTimeout(r, 200));
process.exit(0);
`);
  return script;
}

describe('a part\'s stderr', () => {
  it('cannot forge or flood the supervisor\'s log', async () => {
    const root = testRoot('cloison-stderr-');
    const child = spawn(process.execPath, ['--import', 'tsx', rootPart(root, hostilePart(root))], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (c: Buffer) => (log += c.toString()));
    await new Promise((r) => child.once('exit', r));
    const lines = log.split('\n').filter(Boolean);
    console.log(`the root part's stderr: ${log.length} characters, ${lines.length} lines; first: ${JSON.stringify(lines.slice(0, 4))}; last: ${JSON.stringify(lines.at(-1))}`);
    expect(log).not.toMatch(/[\x1b\r\u202e\x07]/);
    expect(lines.filter((l) => l.startsWith('{') || l.startsWith('cloison-supervisor:'))).toEqual([]);
    expect(lines.filter((l) => /policy reloaded|cage high stopped|gnp\.exe|xxxx/.test(l) && !l.startsWith(`${NAME}: `))).toEqual([]);
    expect(lines[0]).toBe(`${NAME}: \\x1b[2K\\x0d{"level":30,"time":1,"msg":"policy reloaded: low may paste into high"}`);
    expect(log.length).toBeLessThan(STDERR_BUDGET.bytes + 2048);
    expect(lines.some((l) => /^forging test part: \d+ characters of its stderr dropped/.test(l))).toBe(true);
  }, 30_000);

  it('escapes controls, cuts long lines, and counts what is over the budget once per window', () => {
    const out: string[] = [];
    let now = 0;
    const relay = new PartStderr('sound part', (l) => void out.push(l), { bytes: 100, windowMs: 1000 }, () => now);
    relay.push(Buffer.from('one\ttab\r\nsplit '));
    relay.push(Buffer.from('é'));
    relay.push(Buffer.from([0xc3])); // half a character, completed by the next chunk
    relay.push(Buffer.from([0xa9, 0x0a]));
    expect(out).toEqual(['sound part: one\\x09tab\\x0d', 'sound part: split éé']);
    relay.push(Buffer.from(`${'y'.repeat(200)}\n`));
    expect(out).toHaveLength(2); // over the window's 100 bytes: dropped
    now = 1000;
    relay.push(Buffer.from('next\n'));
    expect(out.slice(2)).toEqual(['sound part: 201 characters of its stderr dropped (over 100 bytes in 1 s)', 'sound part: next']);
    const long = new PartStderr('p', (l) => void out.push(l), { bytes: 1e6, windowMs: 1000 }, () => now);
    long.push(Buffer.from('z'.repeat(MAX_LINE + 10)));
    expect(out.at(-1)).toBe(`p: ${'z'.repeat(MAX_LINE)} …(10 more characters cut)`);
    expect(escapeControls('a\u2028b\u202ec\x9bd')).toBe('a\\u2028b\\u202ec\\x9bd');
    // Invisible: an Arabic letter mark, zero-width characters, a byte-order mark, annotation marks.
    expect(escapeControls('e\u061cf\u200bg\ufeffh\ufff9i')).toBe('e\\u061cf\\u200bg\\ufeffh\\ufff9i');
  });

  it('once a line did not fit, the window is spent: nothing after it is split, escaped or logged until the next', () => {
    const out: string[] = [];
    let now = 0;
    const relay = new PartStderr('p', (l) => void out.push(l), { bytes: 50, windowMs: 1000 }, () => now);
    relay.push(Buffer.from(`${'a'.repeat(40)}\n${'b'.repeat(20)}\nx\n`));
    // "x" would still fit beside the first line, but coming after a dropped one it would hide the gap.
    expect(out).toEqual([`p: ${'a'.repeat(40)}`]);
    // A flood of newlines in a spent window is counted whole, by bytes, without a line made of it.
    relay.push(Buffer.alloc(1 << 20, 0x0a));
    now = 1000;
    relay.push(Buffer.from('next\n'));
    expect(out.slice(1)).toEqual([`p: ${21 + 2 + (1 << 20)} characters of its stderr dropped (over 50 bytes in 1 s)`, 'p: next']);
  });
});
