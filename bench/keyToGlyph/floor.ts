/**
 * The floor for key → glyph: the benchmark's xterm on a plain Xvfb of its own (no VNC, no
 * sandbox, no browser), driven and read back by floor.py over X — what a local X session costs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export interface Floor {
  /** `keys` keys, as the browser benchmark types them; one latency (ms) per glyph seen. */
  type(keys: number): Promise<number[]>;
  stop(): Promise<void>;
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

export async function startFloor(xtermArgs: string[]): Promise<Floor> {
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '640x400x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const display = await new Promise<string>((resolve, reject) => {
    xvfb.once('exit', () => reject(new Error('Xvfb exited before it was ready')));
    createInterface({ input: xvfb.stdio[3] as NodeJS.ReadableStream }).once('line', (n) => resolve(`:${n.trim()}`));
  });
  const env = { ...process.env, DISPLAY: display };
  const xterm = spawn('xterm', xtermArgs, { env, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1500)); // the terminal's first prompt
  return {
    type: (keys) =>
      new Promise((resolve, reject) => {
        const tool = spawn('/usr/bin/python3', [fileURLToPath(new URL('./floor.py', import.meta.url)), String(keys)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        const times: number[] = [];
        createInterface({ input: tool.stdout! }).on('line', (l) => times.push(Number(l)));
        tool.once('exit', (code) => (code === 0 ? resolve(times) : reject(new Error(`floor.py exited with ${code}`))));
      }),
    stop: async () => {
      await stop(xterm);
      await stop(xvfb);
    },
  };
}
