/**
 * Attack (a cage's app: it speaks X to its own Xvnc, as any X client of the cage may): the resize
 * script (xScreenResize.ts, run by the cage manager for `xhelper.screenSize` and by the root
 * supervisor) names the mode it makes `cloison-<w>x<h>` and switches the output to whatever mode
 * carries that name. The cage makes that name first (`xrandr --newmode cloison-640x480` with a
 * 2000x1500 timing): the script's own `--newmode` fails (its error thrown away), `--addmode` adds
 * the cage's mode, `--output --mode` switches to it, and the resize answers success. The manager
 * then answers the part with the size it authorised and remembers it for the level's next start
 * (managerScreens.ts), while the screen is the size the cage chose — beyond maxGeometry if it likes.
 *
 * (The cage could resize its own screen with xrandr anyway: what it gains is that the manager's
 * own run says "done" for a size it did not make; the shell sizes its viewer from that answer.)
 *
 * What the manager should get: after a resize it says succeeded, the screen is the size asked.
 * The control: with no mode of the cage's, the same resize gives 800x600.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { setScreenSize } from './xScreenResize';

const CAGE_UID = 56_300 + (process.pid % 100);
const root = process.getuid?.() === 0;
const have = (b: string) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0;
const ready = root && ['Xvnc', 'xrandr', 'bwrap', 'unshare'].every(have);

/** In a mount and network namespace of its own (no other :0 seen), with `tmp` as its /tmp: `command`. */
function inOwnTmp(tmp: string, command: string[], uid?: number): string[] {
  const drop = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--'];
  return ['unshare', '-m', '-n', '--', 'sh', '-c', 'mount --make-rprivate / && mount --bind "$0" /tmp && exec "$@"', tmp, 'env', 'DISPLAY=:0', ...drop, ...command];
}

describe.skipIf(!ready)("the resize script against a cage's own modes", () => {
  let xvnc: ChildProcess | null = null;
  let tmp = '';
  afterAll(() => {
    if (xvnc?.pid && xvnc.exitCode === null) process.kill(xvnc.pid, 'SIGKILL');
    removeTestRoots();
  });

  const asCage = (...args: string[]) => {
    const [cmd, ...rest] = inOwnTmp(tmp, ['xrandr', ...args], CAGE_UID);
    return spawnSync(cmd!, rest, { encoding: 'utf8', timeout: 10_000 });
  };
  const current = () => /current (\d+) x (\d+)/.exec(asCage('--query').stdout)?.slice(1, 3).join('x');

  it('makes the size asked, even when the cage named a mode as the script will', async () => {
    const base = testRoot('cloison-xra-');
    chmodSync(base, 0o755);
    tmp = join(base, 'tmp');
    mkdirSync(tmp, { mode: 0o1777 });
    chmodSync(tmp, 0o1777);
    const x11 = join(tmp, '.X11-unix');
    mkdirSync(x11, { mode: 0o1777 });
    chmodSync(x11, 0o1777);
    const [cmd, ...rest] = inOwnTmp(tmp, ['Xvnc', ':0', '-SecurityTypes', 'None', '-rfbport', '-1', '-geometry', '1024x768', '-nolisten', 'tcp']);
    xvnc = spawn(cmd!, rest, { stdio: 'ignore' });
    await waitFor(() => existsSync(join(x11, 'X0')) && current() === '1024x768', 'the Xvnc to answer', 20_000);

    // Control: the script alone.
    await setScreenSize(x11, { width: 800, height: 600 }, 20_000);
    expect(current()).toBe('800x600');

    // The cage names the next mode first, with a size of its own.
    expect(asCage('--newmode', 'cloison-640x480', '60', '2000', '2000', '2000', '2000', '1500', '1500', '1500', '1500').status).toBe(0);
    const answer = await setScreenSize(x11, { width: 640, height: 480 }, 20_000).then(() => 'resized', (err: Error) => `failed: ${err.message}`);
    const seen = current();
    console.log(`resize to 640x480: ${answer}; the screen: ${seen}`);
    expect(answer === 'resized' ? seen : '640x480').toBe('640x480');
  }, 90_000);
});
