/**
 * The cages' sound FIFOs made without a process (makeFifo.ts), as `mkfifo -m` made them: exactly
 * the mode asked whatever the umask, never over an existing name nor through a link.
 */
import { existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFifo } from './makeFifo';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const folder = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-partearly-10-fifo-'));
  made.push(dir);
  return dir;
};

describe('makeFifo', () => {
  it('makes a FIFO of exactly the mode asked, whatever the umask', () => {
    const dir = folder();
    const old = process.umask(0o077);
    try {
      makeFifo(join(dir, 'out.fifo'), 0o660);
    } finally {
      process.umask(old);
    }
    const st = lstatSync(join(dir, 'out.fifo'));
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o7777).toBe(0o660);
  });

  it('refuses a name already there, and never makes one through a link', () => {
    const dir = folder();
    writeFileSync(join(dir, 'taken'), 'x');
    expect(() => makeFifo(join(dir, 'taken'), 0o660)).toThrow(/EEXIST/);
    expect(lstatSync(join(dir, 'taken')).isFile()).toBe(true);
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'link.fifo'));
    expect(() => makeFifo(join(dir, 'link.fifo'), 0o660)).toThrow(/EEXIST/);
    expect(existsSync(join(dir, 'elsewhere'))).toBe(false);
    expect(() => makeFifo(join(dir, 'missing', 'x.fifo'), 0o660)).toThrow(/ENOENT/);
  });
});
