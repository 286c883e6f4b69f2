/**
 * The parts' Node flags (unprivilegedPart.ts): the quiet parts run in V8's lite mode, silently, and
 * the browser part, which relays the cages' pixels, keeps V8's compiler; and their environment: one
 * malloc arena whatever their threads do.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { browserPartSpawn } from '../browserPart/browserPartSpawn';
import { HOT_PART_NODE_FLAGS, PART_NODE_ENV, PART_NODE_FLAGS, unprivilegedPartCommand } from './unprivilegedPart';

const nodeFlagsOf = (argv: string[]) => argv.slice(argv.indexOf(process.execPath) + 1).filter((a) => a.startsWith('--') && a !== '--import');

describe('the parts\' Node flags', () => {
  it('a part started with them runs without a compiler and says nothing on its stderr', () => {
    // What a part's own code sees: no WebAssembly (lite mode is on), and no V8 warning at its start
    // (each restart's would reach the part's log).
    const run = spawnSync(process.execPath, [...PART_NODE_FLAGS, '-e', 'process.stdout.write(typeof WebAssembly)'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('undefined');
    expect(run.stderr).toBe('');
  });

  it('the quiet parts get the lite flags, the browser part its own without lite mode', () => {
    const quiet = unprivilegedPartCommand({ callerUrl: import.meta.url, source: 'x.ts', bundle: 'x.js' }, false);
    expect(nodeFlagsOf([quiet.command, ...quiet.args])).toEqual(PART_NODE_FLAGS);
    const browser = browserPartSpawn({ rendererDir: null, shell: false, runDir: '/nonexistent' }).command;
    const { command, args } = unprivilegedPartCommand(browser, true);
    expect(nodeFlagsOf([command, ...args])).toEqual(HOT_PART_NODE_FLAGS);
    expect(args).not.toContain('--lite-mode');
  });

  it('a part started with their environment keeps one malloc arena while libuv\'s threads allocate', () => {
    // Four scrypt calls at once in libuv's pool, each allocating in its own thread: glibc gives each
    // such thread an arena (a 64 MiB-aligned heap of its own, /proc/self/maps), whose free pages stay
    // resident; under PART_NODE_ENV they all allocate from the main one.
    const probe = `
      const { scrypt } = require('node:crypto');
      const { readFileSync } = require('node:fs');
      let done = 0;
      for (let i = 0; i < 4; i++) scrypt('p', 's' + i, 32, { N: 1024, r: 8, p: 1 }, () => { if (++done === 4) count(); });
      function count() {
        const M = 64n << 20n;
        const maps = readFileSync('/proc/self/maps', 'utf8').trim().split('\\n').map((line) => {
          const [range, perm, , , , name] = line.split(/\\s+/);
          const [start, end] = range.split('-').map((h) => BigInt('0x' + h));
          return { start, end, perm, name };
        });
        const arenas = maps.filter((m, i) => !m.name && m.perm === 'rw-p' && m.start % M === 0n &&
          (m.end - m.start === M || (maps[i + 1]?.perm === '---p' && maps[i + 1].start === m.end && maps[i + 1].end === m.start + M)));
        process.stdout.write(String(arenas.length));
      }`;
    const arenas = (env: Record<string, string>) => {
      const run = spawnSync(process.execPath, [...PART_NODE_FLAGS, '-e', probe], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
      expect(run.stderr).toBe('');
      return Number(run.stdout);
    };
    // Without it the probe does see the threads' arenas (so a count of 0 below is not a probe that sees none).
    expect(arenas({})).toBeGreaterThan(0);
    expect(arenas({ ...PART_NODE_ENV })).toBe(0);
  });
});
