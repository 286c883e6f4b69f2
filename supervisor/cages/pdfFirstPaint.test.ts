/**
 * A PDF opened in a level is drawn whole without the pointer moving (issue #26, pdfpaint-13). The
 * user double-clicked a converted PDF in high's file manager: MuPDF's window showed its left part
 * only, the rest the file manager's old pixels, until the pointer moved over it. mupdf-gl (freeglut,
 * Mesa's software GL on Xvnc) draws one frame when the cage's openbox maximizes it right after it
 * maps, into the GL buffer of its first size, and no other until an input event; documents now open
 * in the policy's `documentExec`, mupdf (mupdf-x11), which draws on every expose (cageMimeApps.ts).
 *
 * A real cage with the embedded policy's high apps at the lead's screen size (1920×1080); its root
 * painted a green no viewer draws, so a pixel of the window still green is one the viewer never
 * drew. The PDF is opened as a cage process (xdg-open, through the level's defaults, as GLib opens it
 * for PCManFM), and then nothing is sent to the cage's X server but reads (wmctrl, xdotool search,
 * xwd): no pointer, no key. The window must be drawn whole — no green in it, no column or row of it
 * left undrawn, the page's white shown — within the bound. (mupdf-gl draws whole at its next
 * expose: an X refresh, no input, did it — so a frame is all it lacks.)
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from './cageLauncher';
import { embeddedLevelApps, onePagePdf } from '../testing/cageDocuments';
import { startRealCage, type RealCage } from '../testing/realCage';
import { parseXwd, type RgbImage } from '../testing/xwdImage';

/** How long the window may take to be drawn whole (no input); the page shows in well under 2 s here. */
const DRAWN_WITHIN_MS = 20_000;
const ROOT_GREEN = [0x00, 0xff, 0x00] as const;

interface Area { x: number; y: number; width: number; height: number }

/**
 * In the window's area: the share of its pixels still the root's green, its columns and rows the
 * viewer never drew (all green or black: the old pixels, or the X server's black beyond what the
 * viewer drew), and the columns of the page's white.
 */
function windowDrawing(image: RgbImage, area: Area): { green: number; emptyColumns: number; emptyRows: number; white: { left: number; right: number } | null } {
  const [x0, y0] = [Math.max(0, area.x), Math.max(0, area.y)];
  const [x1, y1] = [Math.min(image.width, area.x + area.width), Math.min(image.height, area.y + area.height)];
  const drawnColumns = new Uint8Array(Math.max(0, x1 - x0));
  const drawnRows = new Uint8Array(Math.max(0, y1 - y0));
  let green = 0;
  let [left, right] = [Infinity, -1];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * image.width + x) * 3;
      const [r, g, b] = [image.rgb[i]!, image.rgb[i + 1]!, image.rgb[i + 2]!];
      if (r === ROOT_GREEN[0] && g === ROOT_GREEN[1] && b === ROOT_GREEN[2]) {
        green++;
        continue;
      }
      if (r === 0 && g === 0 && b === 0) continue;
      drawnColumns[x - x0] = 1;
      drawnRows[y - y0] = 1;
      if (r > 245 && g > 245 && b > 245) [left, right] = [Math.min(left, x), Math.max(right, x)];
    }
  }
  const empty = (a: Uint8Array) => a.length - a.reduce((n, v) => n + v, 0);
  return {
    green: green / Math.max(1, (x1 - x0) * (y1 - y0)),
    emptyColumns: empty(drawnColumns),
    emptyRows: empty(drawnRows),
    white: right < 0 ? null : { left, right },
  };
}

/** The viewer's window (the one titled after the file) as X places it: its area on the screen. */
async function windowArea(cage: RealCage, title: string): Promise<Area | null> {
  const r = await cage.sh(`id=$(xdotool search --name ${JSON.stringify(title)} | head -1) && [ -n "$id" ] && xdotool getwindowgeometry --shell "$id"`);
  const value = (name: string) => Number(new RegExp(`^${name}=(\\d+)$`, 'm').exec(r.stdout)?.[1] ?? NaN);
  const area = { x: value('X'), y: value('Y'), width: value('WIDTH'), height: value('HEIGHT') };
  return Object.values(area).every(Number.isFinite) ? area : null;
}

describe('high: a PDF opened from the file manager is drawn whole without any input', () => {
  let cage: RealCage;
  beforeAll(async () => {
    cage = await startRealCage({ level: 'pdfpaint13-high', geometry: '1920x1080', policyApps: embeddedLevelApps('high') });
    const put = await cage.sh(`mkdir -p "$HOME/Incoming/low" && echo ${Buffer.from(onePagePdf('BT /F1 24 Tf 72 700 Td (Une note convertie.) Tj ET', [612, 792])).toString('base64')} | base64 -d > "$HOME/Incoming/low/note.pdf" && xsetroot -solid '#00ff00'`);
    expect(put.code, put.stderr).toBe(0);
  }, 90_000);
  afterAll(async () => {
    await cage?.stop();
  });

  it('the viewer’s maximized window shows the page over its whole width, no old pixel left, with no pointer move', async () => {
    await launch(cage.cage, { argv: ['xdg-open', '/home/cloison/Incoming/low/note.pdf'] });
    let seen = 'no window titled note.pdf';
    let drawn = false;
    for (const deadline = Date.now() + DRAWN_WITHIN_MS; !drawn && Date.now() < deadline; await new Promise((r) => setTimeout(r, 1000))) {
      const area = await windowArea(cage, 'note\\.pdf');
      if (!area) continue;
      const shot = await cage.sh('xwd -root -silent | gzip -1 | base64 -w0', 20_000);
      const screen = parseXwd(gunzipSync(Buffer.from(shot.stdout, 'base64')));
      const { green, emptyColumns, emptyRows, white } = windowDrawing(screen, area);
      seen = `window ${area.width}×${area.height} at ${area.x},${area.y}; ${(100 * green).toFixed(1)} % of it still the root's green, ${emptyColumns} columns and ${emptyRows} rows of it never drawn; the page's white ${white ? `from x=${white.left} to x=${white.right}` : 'nowhere'}`;
      // Maximized (openbox's rule: the window fills the screen's width), drawn whole, the page shown.
      drawn = area.width >= screen.width - 8 && green < 0.005 && emptyColumns === 0 && emptyRows === 0 && white !== null;
    }
    const viewer = (await cage.sh("pgrep -a -f '^[^ ]*mupdf' | grep -v pgrep")).stdout.trim();
    expect(drawn, `within ${DRAWN_WITHIN_MS / 1000} s and without input: ${seen} (viewer: ${viewer || 'none'})`).toBe(true);
  }, 90_000);
});
