/**
 * Where a cage's X server puts the pointer, read from outside: `xdotool getmouselocation` run in
 * the cage's namespaces against its display, and the button events its pointer logger
 * (`xinput test-xi2 --root`, line-buffered into its home) recorded, with their root coordinates.
 * And the other way round: the page point that shows a given cage pixel in a letterboxed frame.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cageShellForUid } from './cageByUid';

/** The app line that makes a cage log every pointer event its root window sees into ~/pointer.txt. */
export const POINTER_LOGGER_APP = '[sh, -c, "stdbuf -oL xinput test-xi2 --root > $HOME/pointer.txt"]';

export interface CagePoint {
  x: number;
  y: number;
}

/** The pointer's position as the cage's X server reports it. */
export async function cagePointer(uid: number): Promise<CagePoint> {
  const { stdout, stderr, code } = await cageShellForUid(uid)('DISPLAY=:0 xdotool getmouselocation');
  const m = /x:(-?\d+) y:(-?\d+)/.exec(stdout);
  if (code !== 0 || !m) throw new Error(`xdotool getmouselocation in the cage failed (${code}): ${stdout}${stderr}`);
  return { x: Number(m[1]), y: Number(m[2]) };
}

/** The cage's X screen size as its X server reports it. */
export async function cageScreenSize(uid: number): Promise<{ width: number; height: number }> {
  const { stdout, stderr, code } = await cageShellForUid(uid)('DISPLAY=:0 xdotool getdisplaygeometry');
  const m = /^(\d+) (\d+)/.exec(stdout);
  if (code !== 0 || !m) throw new Error(`xdotool getdisplaygeometry in the cage failed (${code}): ${stdout}${stderr}`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

export interface ButtonEvent {
  kind: 'press' | 'release';
  button: number;
  x: number;
  y: number;
}

/** Every button press and release the cage's logger saw, in order. */
export function buttonEvents(home: string): ButtonEvent[] {
  const file = join(home, 'pointer.txt');
  if (!existsSync(file)) return [];
  const events: ButtonEvent[] = [];
  // One "EVENT type N (Name)" line per event, then indented fields: "device: D (S)", "detail: B",
  // "root: X/Y". Each event comes once from the physical device (D = S) and once from the
  // master pointer it drives (D ≠ S): only the master's count.
  for (const event of readFileSync(file, 'utf8').split(/^EVENT /m)) {
    const kind = event.includes('(ButtonPress)') ? 'press' : event.includes('(ButtonRelease)') ? 'release' : null;
    const device = /^\s+device: (\d+) \((\d+)\)/m.exec(event);
    if (!kind || !device || device[1] === device[2]) continue;
    const detail = /^\s+detail: (\d+)/m.exec(event);
    const root = /^\s+root: (-?[\d.]+)\/(-?[\d.]+)/m.exec(event);
    if (detail && root) events.push({ kind, button: Number(detail[1]), x: Math.round(Number(root[1])), y: Math.round(Number(root[2])) });
  }
  return events;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The page point (on a screen pixel: CSS pixels times `devicePixelRatio` are whole) that shows
 * cage pixel (px, py) when a cage of `cage` size is scaled to fit `box` and centred in it, and the
 * cage pixel that point is exactly over. A pointer sits on a screen pixel, so a test aims at one
 * and expects the cage pixel under it.
 */
export function pagePointFor(box: Box, cage: { width: number; height: number }, px: number, py: number, devicePixelRatio = 1): { page: CagePoint; expected: CagePoint } {
  const scale = Math.min(box.width / cage.width, box.height / cage.height);
  const left = box.x + (box.width - cage.width * scale) / 2;
  const top = box.y + (box.height - cage.height * scale) / 2;
  const onScreenPixel = (v: number) => Math.round(v * devicePixelRatio) / devicePixelRatio;
  const page = { x: onScreenPixel(left + (px + 0.5) * scale), y: onScreenPixel(top + (py + 0.5) * scale) };
  const clamp = (v: number, max: number) => Math.min(max - 1, Math.max(0, v));
  return { page, expected: { x: clamp(Math.floor((page.x - left) / scale), cage.width), y: clamp(Math.floor((page.y - top) / scale), cage.height) } };
}

/**
 * Moves the pointer onto a cage pixel and waits until the cage's X server has it there (within
 * 1 px), aiming again with the geometry of each try: under load the frame can still move after its
 * viewer connected (a late reflow of the shell around it), and the viewer maps a point with the
 * frame of the moment it is moved — a point aimed once with an older frame misses by the shift.
 * `aimAndMove` reads the geometry, moves the pointer and says which cage pixel it aimed at;
 * the aim that reached its pixel is returned, and a miss past `timeoutMs` fails saying where the
 * pointer was.
 */
export async function pointerReaches<A extends { expected: CagePoint }>(uid: number, what: string, aimAndMove: () => Promise<A>, timeoutMs = 10_000): Promise<A> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
    const aim = await aimAndMove();
    await new Promise((resolve) => setTimeout(resolve, wait));
    const p = await cagePointer(uid);
    if (Math.abs(p.x - aim.expected.x) <= 1 && Math.abs(p.y - aim.expected.y) <= 1) return aim;
    if (Date.now() > deadline) throw new Error(`${what}: the cage's pointer is at ${p.x},${p.y}, aimed at ${aim.expected.x},${aim.expected.y} (for ${timeoutMs / 1000} s, aimed again each try)`);
  }
}
