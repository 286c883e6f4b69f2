/**
 * The clipboard with the apps the cages ship, driven by real X events (xdotool on each cage's own
 * display): a plain selection in xterm is copied (X apps put it only in PRIMARY), and a paste
 * reaches xterm by middle click and by Shift+Insert, and xedit by middle click and Ctrl+V.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/policyLoader';
import { Supervisor } from '../supervisor';
import { cageShell, type CageShell, innerPidOf, testRoot } from '../testing/realCage';
import { rpcClient, type RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';

const UIDS = { low: 58661, high: 58662 };
// low: a terminal showing one line to select; high: a terminal writing what it is given to a file,
// and an editor. Lateral-free two levels: up is allowed without a dialog, so the test is the apps.
const LOW_APPS = `[[xterm, -geometry, 80x8+0+0, -e, sh, -c, "echo 'alpha bravo2026 charlie'; exec sleep 600"]]`;
const HIGH_APPS = `[[xterm, -geometry, 80x8+0+0, -e, sh, -c, "exec cat > $HOME/typed.txt"], [xedit, -geometry, 500x200+0+300]]`;
const POLICY = twoLevelPolicy(
  { low: bwrapCage({ uid: UIDS.low, geometry: '1024x640', apps: LOW_APPS }), high: bwrapCage({ uid: UIDS.high, geometry: '1024x640', apps: HIGH_APPS }) },
  'clipboard:\n  up: { decision: allow, singleUse: false }\n',
);

/** Waits until `check` resolves truthy (real windows take their time to map). */
async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('clipboard with the shipped apps (real X events)', () => {
  const root = testRoot();
  let sup: Supervisor;
  let shell: RpcClient;
  const sh: Record<'low' | 'high', CageShell> = {} as never;

  /** The cage's window of that class, once mapped (openbox maximizes them all: each is raised before it is clicked). */
  const windowOf = (level: 'low' | 'high', cls: string) =>
    until(`${cls} in ${level}`, async () => (await sh[level](`xdotool search --onlyvisible --class ${cls} | head -1`)).stdout.trim());

  beforeAll(async () => {
    sup = new Supervisor({ policy: parsePolicy(POLICY, 'p.yaml'), policySource: 'p.yaml', policyText: POLICY, stateDir: join(root, 'state'), runDir: join(root, 'run'), rendererDir: null });
    await sup.start();
    for (const level of ['low', 'high'] as const) sh[level] = cageShell(innerPidOf(sup, level), UIDS[level]);
    shell = await rpcClient(sup.rpcSocketPath);
  }, 60_000);
  afterAll(async () => {
    shell?.close();
    await sup?.stop();
  });

  it('copies a plain selection in xterm (PRIMARY, since CLIPBOARD is empty), and says so', async () => {
    const xterm = await windowOf('low', 'xterm');
    // Double click on the second word of the first line: xterm selects it into PRIMARY only.
    const r = await sh.low(`xdotool windowraise ${xterm}; sleep 0.2; xdotool mousemove --window ${xterm} 80 8 click --repeat 2 --delay 80 1; sleep 0.3; xclip -o -selection clipboard 2>&1; echo "[$?]"`);
    expect(r.stdout).toMatch(/\[1\]/); // nothing in CLIPBOARD: the old copy refused here
    const copied = await shell.call('clipboard.copy', { level: 'low' });
    expect(copied).toMatchObject({ ok: true, result: { source: 'low', bytes: 'bravo2026'.length, selection: 'primary' } });
  });

  it('fills both selections on paste: middle click and Shift+Insert paste into xterm', async () => {
    expect(await shell.call('clipboard.paste', { level: 'high' })).toMatchObject({ ok: true, result: { outcome: 'pasted' } });
    expect((await sh.high('xclip -o -selection clipboard')).stdout).toBe('bravo2026');
    expect((await sh.high('xclip -o -selection primary')).stdout).toBe('bravo2026');

    const xterm = await windowOf('high', 'xterm');
    await sh.high(`xdotool windowraise ${xterm}; sleep 0.2; xdotool mousemove --window ${xterm} 100 40 click 2; sleep 0.2; xdotool windowfocus --sync ${xterm} key --window ${xterm} shift+Insert Return`);
    const typed = await until('the pasted text in xterm', async () => {
      const out = (await sh.high('cat ~/typed.txt 2>/dev/null')).stdout;
      return out.includes('\n') ? out : null;
    });
    expect(typed).toBe('bravo2026bravo2026\n');
  });

  it('pastes into xedit by middle click and by Ctrl+V', async () => {
    const xedit = await windowOf('high', 'xedit');
    // xedit's text pane is its largest child window: click there, paste twice, then select it all.
    await sh.high(`xdotool windowraise ${xedit}; sleep 0.2; xdotool mousemove --window ${xedit} 200 170 click 1 click 2; sleep 0.2; xdotool key --window ${xedit} ctrl+v; sleep 0.2`);
    // Five clicks select the whole text (Xaw): the selection is what xedit now holds.
    await sh.high(`xdotool windowraise ${xedit}; sleep 0.2; xdotool mousemove --window ${xedit} 200 170 click --repeat 5 --delay 60 1; sleep 0.3`);
    const inXedit = await until('xedit to own PRIMARY', async () => {
      const out = (await sh.high('xclip -o -selection primary')).stdout;
      return out !== 'bravo2026' ? out : null;
    });
    expect(inXedit.trim()).toBe('bravo2026bravo2026');
  });

  it('copies CLIPBOARD first when an app has filled it, even with a selection in PRIMARY', async () => {
    await sh.low(`printf 'explicit copy' | xclip -selection clipboard -i > /dev/null 2>&1; sleep 0.2`);
    const copied = await shell.call('clipboard.copy', { level: 'low' });
    expect(copied).toMatchObject({ ok: true, result: { bytes: 'explicit copy'.length, selection: 'clipboard' } });
  });

  it('takes a new selection over its own last paste, still in CLIPBOARD', async () => {
    // high's CLIPBOARD still holds the paste (nothing in high took it); the user types a word in
    // high's xterm (line 2, under the pasted line) and selects it.
    const xterm = await windowOf('high', 'xterm');
    await sh.high(`xdotool windowraise ${xterm}; sleep 0.2; xdotool windowfocus --sync ${xterm} type --window ${xterm} 'zulu'; sleep 0.2; xdotool mousemove --window ${xterm} 12 21 click --repeat 2 --delay 80 1; sleep 0.3`);
    expect((await sh.high('xclip -o -selection clipboard')).stdout).toBe('bravo2026');
    const copied = await shell.call('clipboard.copy', { level: 'high' });
    expect(copied).toMatchObject({ ok: true, result: { source: 'high', bytes: 4, selection: 'primary' } });
  });
});
