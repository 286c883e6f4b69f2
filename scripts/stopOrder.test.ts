/**
 * What npm start spawns is off the terminal's process group and ends when npm start is gone
 * (stopOrder.mjs): the setpriv command that sets the parent-death signal (merged into the root
 * part's own setpriv call, applied after its uid and bounding-set changes), a child in a group of
 * its own, and the signal delivered when its parent is killed with SIGKILL — the manager's launch
 * as npm start builds it (its bounding set cut), and the shell's window under another uid.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { skipWhen } from '../supervisor/testing/skipWithReason';
import { waitFor } from '../supervisor/testing/waitFor';
import { rootPartCommand } from './rootPartLaunch.mjs';
import { OWN_GROUP, withParentDeathSignal } from './stopOrder.mjs';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('withParentDeathSignal', () => {
  it('runs a command under setpriv --pdeathsig', () => {
    expect(withParentDeathSignal({ command: '/usr/bin/chromium', args: ['--app=x'] }, 'SIGTERM')).toEqual({ command: 'setpriv', args: ['--pdeathsig=SIGTERM', '--', '/usr/bin/chromium', '--app=x'] });
  });
  it('merges into a setpriv call already there (the root part\'s bounding set, the window\'s uid): one setpriv', () => {
    const launch = rootPartCommand('/usr/bin/node', ['manager.js'], 0);
    const watched = withParentDeathSignal(launch, 'SIGINT');
    expect(watched.command).toBe('setpriv');
    expect(watched.args).toEqual(['--pdeathsig=SIGINT', ...launch.args]);
  });
  it('is a spawn in a session and process group of its own', () => {
    expect(OWN_GROUP).toEqual({ detached: true });
  });
});

/**
 * A parent (Node, as start.mjs) that spawns `launch` as start.mjs does and prints its pid; the
 * child writes the signal it got into `mark`, then exits.
 */
function parentOf(launch: { command: string; args: string[] }): Promise<{ parent: number; child: number }> {
  const script = `const { spawn } = require('node:child_process'); const c = spawn(${JSON.stringify(launch.command)}, ${JSON.stringify(launch.args)}, { detached: true, stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    parent.stdout.once('data', (d: Buffer) => resolve({ parent: parent.pid!, child: Number(d.toString().trim()) }));
    parent.once('exit', () => reject(new Error('the parent ended first')));
  });
}

/** A child that says it listens (`mark`.ready), then writes the signal it got into `mark`. */
const childScript = (mark: string, signal: string) => `const fs = require('node:fs'); process.on(${JSON.stringify(signal)}, () => { fs.writeFileSync(${JSON.stringify(mark)}, ${JSON.stringify(signal)}); process.exit(0); }); fs.writeFileSync(${JSON.stringify(`${mark}.ready`)}, ''); setInterval(() => {}, 1000);`;

describe('the parent-death signal of what npm start spawns', skipWhen(spawnSync('setpriv', ['--help']).status !== 0 && 'no setpriv (util-linux)'), () => {
  it('the manager\'s launch (its bounding set cut when root): SIGINT when npm start is killed, in a group of its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloison-ctrlc12-pd-'));
    dirs.push(dir);
    const mark = join(dir, 'got');
    const { parent, child } = await parentOf(withParentDeathSignal(rootPartCommand(process.execPath, ['-e', childScript(mark, 'SIGINT')]), 'SIGINT'));
    await waitFor(() => existsSync(`${mark}.ready`), 'the child listening for its signal', 10_000, 50);
    const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
    const [pgrp, session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(2, 4).map(Number);
    expect([pgrp, session]).toEqual([child, child]);
    process.kill(parent, 'SIGKILL');
    await waitFor(() => existsSync(mark), 'the child told of its parent\'s death', 10_000, 50);
    expect(readFileSync(mark, 'utf8')).toBe('SIGINT');
  });

  it('as root, under another uid (the shell\'s window): still told (setpriv sets it after the uid change)', async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip();
    const dir = mkdtempSync(join(tmpdir(), 'cloison-ctrlc12-pd-'));
    dirs.push(dir);
    const { parent, child } = await parentOf(withParentDeathSignal({ command: 'setpriv', args: ['--reuid=65534', '--regid=65534', '--clear-groups', '--', 'sleep', '300'] }, 'SIGTERM'));
    await waitFor(() => existsSync(`/proc/${child}/status`) && /^Uid:\s+65534/m.test(readFileSync(`/proc/${child}/status`, 'utf8')), 'the child under its uid', 10_000, 50);
    process.kill(parent, 'SIGKILL');
    await waitFor(() => !existsSync(`/proc/${child}/stat`) || /\) Z /.test(readFileSync(`/proc/${child}/stat`, 'utf8')), 'the child ended', 10_000, 50);
  });
});
