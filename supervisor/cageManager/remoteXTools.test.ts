/**
 * The supervisor's clipboard, screens and keyboard layout as the `cloison` part runs them: a real
 * process of the `cloison` account (cloisonPart.ts, remoteXToolsRequester.ts) drives
 * XCageClipboards, CageScreens and followKeyboardLayout with the cage manager's X tools
 * (remoteXTools.ts), against a real manager server running the real `xhelper.run` executor on a
 * real cage's X server. A word selected in the cage's xterm (PRIMARY only) is what the part copies,
 * and what it pastes is what a middle click types in the cage's other xterm. What the cage copied
 * (xclip in the cage) is what the part reads; what the
 * part pastes is what the cage's apps paste (both selections); the cage's screen takes the size
 * the frame reports ask, and keeps one mode of ours; the cage's layout is the policy's `fr`. An app
 * of the cage taking the selection ends the part's serving (the clipboard then reads the cage's
 * text again, not the part's own paste). A clipboard larger than the read's bound is too large,
 * never its first bytes as if whole.
 *
 * A cage may name modes `cloison-WxH` on its own screen, one beyond its maxGeometry among them:
 * the part's resize once asked the manager to forget it, was refused, and each refusal went into
 * root's journal as the part's (`rootRequest.refused`, actor cloison: a false alarm any cage could
 * write, seen with the first version of remoteXTools.ts). Now a resize is one `xhelper.screenSize`
 * (two numbers): the manager's script forgets sixteen of them at most, in its one sandbox, and the
 * part asks nothing the manager refuses.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { startRealCage, type RealCage } from '../testing/realCage';
import { TEST_HOME_LIMIT, twoLevelPolicy } from '../testing/testPolicy';
import { ServingSelections } from './servingSelections';
import { xHelperRunExecutor } from './xHelperRunExecutor';
import { xhelperStopExecutor } from './xhelperStopExecutor';
import { xScreenSizeExecutor } from './xScreenSizeExecutor';

let manager: ServedManager;
let cage: RealCage;
const LOW = `{ driver: bwrap, network: none, geometry: auto, maxGeometry: 1024x768, apps: [], limits: { ${TEST_HOME_LIMIT} } }`;
const POLICY = twoLevelPolicy({ low: LOW, high: `{ driver: bwrap, network: none, apps: [], limits: { ${TEST_HOME_LIMIT} } }` }, 'keyboard: { layout: fr }\n');

beforeAll(async () => {
  const serving = new ServingSelections();
  manager = await serveManagerToCloison({
    prefix: 'cloison-rx-',
    policy: POLICY,
    executors: ({ policy, part }) => ({
      'xhelper.run': xHelperRunExecutor({ policy, x11Dir: (level) => (level === 'low' ? cage.driver.x11Dir : null), part, serving }),
      'xhelper.stop': xhelperStopExecutor(serving),
      'xhelper.screenSize': xScreenSizeExecutor({ policy, x11Dir: (level) => (level === 'low' ? cage.driver.x11Dir : null) }),
    }),
  });
  // Two terminals: one showing a line to select, one writing what it is given to a file.
  cage = await startRealCage({ level: 'low', root: manager.root, geometry: '640x480', apps: [
    ['xterm', '-title', 'sel', '-geometry', '60x4+0+0', '-e', 'sh', '-c', "echo 'alpha bravo2026 charlie'; exec sleep 600"],
    ['xterm', '-title', 'typed', '-geometry', '60x4+0+150', '-e', 'sh', '-c', 'exec cat > $HOME/typed.txt'],
  ] });
}, 60_000);

afterAll(async () => {
  await manager?.close(() => cage?.stop());
});

/** What the cage's own apps see, asked from inside the cage. */
const inCage = async (script: string, timeoutMs?: number) => (await cage.sh(`export DISPLAY=:0; ${script}`, timeoutMs)).stdout;

type Report = { step: string } & Record<string, unknown>;

/** Runs the part to its end; `onPasted` runs in the cage when the part says it pasted. */
async function runPart(onPasted: () => Promise<void>, extra: Record<string, unknown> = {}): Promise<Report[]> {
  const reports: Report[] = [];
  try {
    await manager.runPart(join(__dirname, '../testing/remoteXToolsRequester.ts'), { managerSocket: manager.socketPath, level: 'low', policy: POLICY, ...extra }, {
      message: (m, fail) => {
        if (m.type !== 'report') return;
        reports.push(m as unknown as Report);
        if (m.step === 'pasted') onPasted().catch(fail);
      },
    });
    return reports;
  } finally {
    await manager.stopPart();
  }
}

/** Waits until `check` gives something (windows take their time to map). */
async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the X tools through the cage manager, from the cloison part', () => {
  it('with the cage\'s apps: a word selected in xterm (PRIMARY only) is what the part copies; its paste is what a middle click types in the other xterm', async () => {
    // Found, then settled: openbox maximizes application windows (cageAppSettings.ts) just after
    // they map, and a click while the xterm is still being resized selects nothing.
    const windowNamed = (name: string) =>
      until(`the ${name} xterm, its size settled`, async () => {
        const id = (await inCage(`xdotool search --onlyvisible --name '^${name}$' | head -1`)).trim();
        if (!id) return null;
        const size = `xdotool getwindowgeometry ${id} | grep Geometry`;
        const [before, after] = (await inCage(`${size}; sleep 0.3; ${size}`)).split('\n').map((l) => l.trim());
        return before && before === after ? id : null;
      });
    const sel = await windowNamed('sel');
    // A double click on the line's second word: xterm puts it in PRIMARY only.
    // Both xterms fill the screen (maximized): the one clicked is raised first.
    await inCage(`xdotool windowraise ${sel}; sleep 0.2; xdotool mousemove --window ${sel} 80 8 click --repeat 2 --delay 80 1; sleep 0.3`);
    expect(await inCage('xclip -o -selection primary')).toBe('bravo2026');
    const reports = await runPart(async () => undefined, { copyThenPaste: 'texte de la partie' });
    console.log(JSON.stringify(reports));
    expect(reports.find((r) => r.step === 'copy')).toMatchObject({ kind: 'text', text: 'bravo2026', selection: 'primary' });
    expect(reports.find((r) => r.step === 'paste')).toMatchObject({ pasted: true });
    // The part has ended; the manager's xclip serves on, as the selection's owner.
    const typed = await windowNamed('typed');
    await inCage(`xdotool windowraise ${typed}; sleep 0.2; xdotool mousemove --window ${typed} 100 30 click 2; sleep 0.2; xdotool windowfocus --sync ${typed} key --window ${typed} Return`);
    const file = await until('the pasted text in xterm', async () => {
      const out = await inCage('cat ~/typed.txt 2>/dev/null');
      return out.includes('\n') ? out : null;
    });
    expect(file).toBe('texte de la partie\n');
  }, 120_000);

  it('reads what the cage copied, pastes into the cage, sizes its screen, sets its layout; an app taking the selection ends the paste', async () => {
    // An app of the cage copies (xclip forks and serves, as an editor's Copy would).
    await inCage("printf 'copié dans la cage' | xclip -selection clipboard -i > /dev/null 2>&1; head -c 10000 /dev/zero | tr '\\0' a | xclip -selection primary -i > /dev/null 2>&1; sleep 0.2");
    expect(await inCage('xclip -selection clipboard -o')).toBe('copié dans la cage');
    const seen: Record<string, string> = {};
    const reports = await runPart(async () => {
      seen.clipboard = await inCage('xclip -selection clipboard -o');
      seen.primary = await inCage('xclip -selection primary -o');
      seen.screen = await inCage('xdpyinfo | grep dimensions');
      seen.modes = await inCage('xrandr | grep -o "cloison-[0-9x]*" | sort -u | tr "\\n" " "');
      seen.keymap = await inCage('setxkbmap -query');
      await inCage("printf 'repris par la cage' | xclip -selection clipboard -i > /dev/null 2>&1; sleep 0.2");
    });
    console.log(JSON.stringify(reports), JSON.stringify(seen));
    const at = (step: string) => reports.find((r) => r.step === step);
    expect(at('read')).toMatchObject({ kind: 'text', text: 'copié dans la cage', selection: 'clipboard' });
    expect(at('read primary over the bound')).toMatchObject({ kind: 'too-large', selection: 'primary' });
    expect(at('read other level')).toMatchObject({ code: 'CAGE_UNAVAILABLE' });
    expect(at('paste')).toMatchObject({ pasted: true });
    expect(seen.clipboard).toBe('collé par la partie');
    expect(seen.primary).toBe('collé par la partie');
    expect(at('screen')).toMatchObject({ msg: 'cage screen', width: 1000, height: 700 });
    expect(at('screen again')).toMatchObject({ msg: 'cage screen', width: 900, height: 650 });
    expect(seen.screen).toMatch(/dimensions:\s+900x650 pixels/);
    expect(seen.modes!.trim()).toBe('cloison-900x650');
    expect(at('keymap')).toMatchObject({ fact: { kind: 'cage.keymap', level: 'low', layout: 'fr' }, query: { layout: 'fr' } });
    expect(seen.keymap).toMatch(/layout:\s+fr/);
    expect(at('taken')).toMatchObject({ owned: false, read: { kind: 'text', text: 'repris par la cage', selection: 'clipboard' } });
    // Every form the part wrote was one the manager takes: nothing journaled as the part's refusal.
    expect(manager.refusals()).toEqual([]);
  }, 120_000);

  it('a cage naming modes of its own cloison-*: the manager\'s resize forgets 16 at most, and the part asks nothing the manager refuses', async () => {
    // What the cage may do on its own screen: modes named as ours, one beyond the level's maxGeometry, forty within it.
    const made = ['cloison-4000x3000', 'cloison-0640x480', ...Array.from({ length: 40 }, (_, i) => `cloison-${400 + i}x300`)];
    await inCage(made.map((m) => { const [w, h] = m.slice(8).split('x'); return `xrandr --newmode ${m} 60 ${w} ${w} ${w} ${w} ${h} ${h} ${h} ${h}; xrandr --addmode VNC-0 ${m}`; }).join('; '), 60_000);
    const modes = async () => (await inCage('xrandr | grep -o "cloison-[0-9x]*" | sort -u')).split('\n').filter(Boolean);
    const initial = await modes();
    expect(initial).toEqual(expect.arrayContaining(made));
    const before = manager.refusals().length;
    const reports = await runPart(async () => undefined, { resizeOnly: { width: 700, height: 500 } });
    expect(reports.find((r) => r.step === 'screen')).toMatchObject({ msg: 'cage screen', width: 700, height: 500 });
    console.log(JSON.stringify(manager.refusals().slice(before)));
    expect(manager.refusals().slice(before)).toEqual([]);
    const left = await modes();
    expect(left).toContain('cloison-700x500');
    expect(left).toHaveLength(initial.length + 1 - 16);
  }, 120_000);
});
