/**
 * Firefox scrolling a long local page: the motion benchmark's method (motion.bench.ts) with
 * Firefox ESR as the moving screen instead of a terminal. A long page, a file in Firefox's home
 * (no network traffic), is scrolled without end by xdotool on the cage's display (mouse wheel
 * clicks with Firefox's smooth scrolling, back to the top at the end); the same display server is
 * shown in the shell (the real supervisor and gateway, the renderer in Chromium, headful under
 * xvfb-run as npm start runs it) and, in the same run, in TigerVNC's vncviewer.
 *
 * Frames are Xvnc's count of the updates it sent each viewer (logged as the viewer leaves), so the
 * display server is a bare Xvnc with the cage's own update settings (XVNC_UPDATES), not one inside
 * bubblewrap whose log the supervisor does not keep: the viewing path measured is the same.
 * Goal: ≥ 1.0× vncviewer's frames per second, ≤ 1.2× its CPU per frame on the whole path.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIREFOX_POLICIES } from '../supervisor/cages/cageAppSettings';
import { runMotionBench, type MovingScene } from './motion.bench';

/** Firefox runs as nobody, as a cage's applications run as the cage's own uid. */
const NOBODY = 65534;

/** A long page: 3,000 paragraphs with a coloured bar each, so every scrolled line changes pixels. */
function longPage(): string {
  const rows = Array.from({ length: 3000 }, (_, i) => `<p><span style="background:hsl(${(i * 37) % 360} 60% 70%)">${String(i).padStart(4, '0')}</span> Cloison — deux niveaux, une frontière. Le défilement d’une longue page locale, sans réseau.</p>`);
  return `<!doctype html><meta charset="utf-8"><title>Cloison scroll</title><body style="font:16px serif;margin:2em">${rows.join('\n')}`;
}

/** The cage's Firefox policy preferences as a profile's user.js (the bare Xvnc has no /etc/firefox-esr/policies of its own). */
function userJs(): string {
  const prefs: Record<string, unknown> = Object.fromEntries(Object.entries(FIREFOX_POLICIES.policies.Preferences).map(([k, v]) => [k, v.Value]));
  Object.assign(prefs, { 'browser.shell.checkDefaultBrowser': false, 'toolkit.telemetry.reportingpolicy.firstRun': false, 'browser.sessionstore.resume_from_crash': false, 'general.smoothScroll': true });
  return Object.entries(prefs).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n') + '\n';
}

async function scrollingFirefox(dir: string, display: string): Promise<MovingScene> {
  const home = join(dir, 'home');
  const profile = join(home, 'profile');
  mkdirSync(profile, { recursive: true });
  writeFileSync(join(home, 'long.html'), longPage());
  writeFileSync(join(profile, 'user.js'), userJs());
  chmodSync(dir, 0o711);
  for (const p of [home, profile, join(home, 'long.html'), join(profile, 'user.js')]) chownSync(p, NOBODY, NOBODY);
  const env = { PATH: process.env.PATH, HOME: home, USER: 'nobody', LANG: 'fr_FR.UTF-8', DISPLAY: display };
  const openbox = spawn('openbox', [], { env, uid: NOBODY, gid: NOBODY, stdio: 'ignore' });
  const firefox = spawn('firefox-esr', ['--no-remote', '--profile', profile, `file://${join(home, 'long.html')}`], { env, uid: NOBODY, gid: NOBODY, stdio: 'ignore', detached: true });
  // The window fills the screen, the pointer over the page, then the wheel turns without end.
  const ready = spawn('sh', ['-c', 'timeout 180 xdotool search --sync --onlyvisible --classname Navigator windowmove 0 0 windowsize 100% 100% && sleep 3 && xdotool mousemove 500 400'], { env, stdio: 'ignore' });
  const readyCode = await new Promise((r) => ready.once('exit', r));
  if (readyCode !== 0) throw new Error('Firefox did not open the long page (no Firefox window within 180 s)');
  const wheel = spawn('sh', ['-c', 'while :; do xdotool click --repeat 60 --delay 40 5; xdotool key ctrl+Home; sleep 0.2; done'], { env, stdio: 'ignore', detached: true });
  await new Promise((r) => setTimeout(r, 1500));
  return {
    stop: () => {
      for (const p of [wheel, firefox]) {
        try {
          process.kill(-p.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      openbox.kill('SIGTERM');
    },
  };
}

export function runFirefoxScrollBench(log: (s: string) => void) {
  return runMotionBench(log, { scene: scrollingFirefox, headful: Boolean(process.env.DISPLAY) });
}
