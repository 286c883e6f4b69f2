/**
 * What a French user types shows in the cage: xterm, as the session starts it, draws € œ Œ « » and
 * the accents with ink (with Xvnc's built-in ISO 8859-1 "fixed" alone, € and œ were blank cells),
 * in a readable scalable font (DejaVu Sans Mono 11, not the 6×13 "fixed" that was tiny on a
 * 1920×1080 screen), and the cage's apps read the supervisor's X resources.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealCage, type RealCage } from '../testing/realCage';
import { crop, inkPixels, parseXwd, writePng } from '../testing/xwdImage';

// One character a line, after a blank line; xterm's border is 2 pixels. Its cell's size is the
// terminal's, as xterm tells its pty (TIOCGWINSZ: rows, columns, then its text area in pixels).
const CHARS = ['€', 'œ', 'Œ', '«', '»', 'é', 'à', 'ç', 'ù', 'ÿ', 'ő', 'ž', 'ŀ'];
const BORDER = 2;
const CELL_SCRIPT = `python3 -c 'import fcntl, termios, struct; print(*struct.unpack("HHHH", fcntl.ioctl(0, termios.TIOCGWINSZ, bytes(8))))' > /tmp/cell`;

describe('cage fonts', () => {
  let cage: RealCage;
  beforeAll(async () => {
    const lines = ['', ...CHARS].join('\\n');
    cage = await startRealCage({ level: 'fonts', geometry: '400x400', apps: [['xterm', '-geometry', '20x16+0+0', '-e', 'sh', '-c', `${CELL_SCRIPT}; printf '${lines}'; exec sleep 600`]] });
  }, 60_000);
  afterAll(async () => {
    await cage?.stop();
  });

  it('xterm draws each of € œ Œ « » and the accents, not a blank cell', async () => {
    let image = null;
    // xterm's start and first drawing: 10 s of a 30 s budget in a clean run here, so both bounds for a 3x slower machine.
    const deadline = Date.now() + 45_000;
    let origin = { x: 0, y: 0 };
    let CELL = { width: 0, height: 0, border: BORDER };
    for (;;) {
      const [rows, cols, xpixel, ypixel] = (await cage.sh('cat /tmp/cell 2>/dev/null')).stdout.trim().split(' ').map(Number);
      if (rows && cols && xpixel && ypixel) CELL = { width: Math.floor(xpixel / cols), height: Math.floor(ypixel / rows), border: BORDER };
      // xwininfo's absolute corner (xdotool's counts the window manager's frame twice).
      const geometry = await cage.sh('w=$(xdotool search --onlyvisible --class xterm | head -1) && xwininfo -id "$w"');
      const x = /Absolute upper-left X:\s+(\d+)/.exec(geometry.stdout);
      const y = /Absolute upper-left Y:\s+(\d+)/.exec(geometry.stdout);
      if (x && y && CELL.width > 0) {
        origin = { x: Number(x[1]), y: Number(y[1]) };
        const shot = await cage.sh('xwd -root -silent | base64 -w0', 20_000);
        image = parseXwd(Buffer.from(shot.stdout, 'base64'));
        // The last line is drawn: the text is all there.
        const last = crop(image, origin.x + CELL.border, origin.y + CELL.border + CELL.height * CHARS.length, CELL.width, CELL.height);
        if (inkPixels(last) > 0) break;
      }
      if (Date.now() > deadline) {
        throw new Error(`xterm did not show its text (window at ${origin.x},${origin.y})`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    // A readable font: DejaVu Sans Mono 11 is about 9×17 pixels here, the old "fixed" 6×13.
    expect(CELL.height, `cell ${CELL.width}×${CELL.height}`).toBeGreaterThanOrEqual(15);
    // The screen, for a person to look at (the characters at the window's top left).
    const picture = join(tmpdir(), `cloison-cagedesk-13-xterm-${process.pid}.png`);
    if (process.env.CLOISON_KEEP_SCREENSHOT) writePng(picture, image!);
    const blank = CHARS.filter((_, i) => inkPixels(crop(image!, origin.x + CELL.border, origin.y + CELL.border + CELL.height * (i + 1), CELL.width, CELL.height)) === 0);
    // On failure, the cage's screen as its X server holds it, for a person to look at.
    const shot = join(tmpdir(), `cloison-cage-fonts-${process.pid}.png`);
    if (blank.length) writePng(shot, image);
    expect(blank, `blank cells (screen: ${shot})`).toEqual([]);
  }, 90_000);

  it('gives the apps the X resources for pasting (XENVIRONMENT)', async () => {
    const r = await cage.sh('p=$(pgrep -x xterm | head -1); tr "\\0" "\\n" < /proc/$p/environ | grep XENVIRONMENT; cat "$(tr "\\0" "\\n" < /proc/$p/environ | sed -n "s/^XENVIRONMENT=//p")"');
    expect(r.stdout).toContain('XENVIRONMENT=/run/cloison-xresources');
    expect(r.stdout).toContain('insert-selection(CLIPBOARD, PRIMARY)');
    expect(r.stdout).toMatch(/^XTerm\*faceName: DejaVu Sans Mono$/m);
    expect(r.stdout).toMatch(/^XTerm\*faceSize: 11$/m);
  });
});
