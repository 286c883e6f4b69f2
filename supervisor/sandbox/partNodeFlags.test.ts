/**
 * The parts' Node flags (unprivilegedPart.ts): the quiet parts run in V8's lite mode, silently, and
 * the browser part, which relays the cages' pixels, keeps V8's compiler.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { browserPartSpawn } from '../browserPart/browserPartSpawn';
import { HOT_PART_NODE_FLAGS, PART_NODE_FLAGS, unprivilegedPartCommand } from './unprivilegedPart';

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
});
