/**
 * A French user's cage, as the user meets it: its applications speak French (they spoke the
 * English of LANG=C.UTF-8: Mousepad's "File", Firefox's "New Tab", LibreOffice's "English (USA)"),
 * and an application's window fills the cage's screen (windows opened beside each other, half out
 * of the screen, and cut at its edge once the screen shrank for split view).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from './cageLauncher';
import { startRealCage, type RealCage } from '../testing/realCage';

describe("a cage's applications, for a French user", () => {
  let cage: RealCage;
  beforeAll(async () => {
    // A small terminal asked at a corner, as an application asks for its own size.
    cage = await startRealCage({ level: 'userday', geometry: '800x600', apps: [['xterm', '-geometry', '20x5+0+0', '-title', 'petit']] });
  }, 60_000);
  afterAll(async () => {
    await cage?.stop();
  });

  it('speak French: a program the launcher starts finds the French of a cage program (gettext)', async () => {
    await launch(cage.cage, { argv: ['sh', '-c', 'gettext -d mousepad _File > "$HOME/langue.txt"'] });
    let said = '';
    for (const deadline = Date.now() + 10_000; said === '' && Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) said = (await cage.sh('cat "$HOME/langue.txt" 2>/dev/null')).stdout;
    expect(said).toBe('_Fichier');
    // A program run to its end (the supervisor's tools, whose output it reads) keeps C.UTF-8's English.
    expect((await cage.sh('echo "$LANG|$LANGUAGE"; gettext -d mousepad _File')).stdout).toBe('C.UTF-8|\n_File');
  });

  it("fill the cage's screen, whatever size they ask for", async () => {
    let size = '';
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      const r = await cage.sh('w=$(xdotool search --onlyvisible --name petit | head -1) && xwininfo -id "$w" -frame');
      const width = /Width:\s+(\d+)/.exec(r.stdout)?.[1];
      const height = /Height:\s+(\d+)/.exec(r.stdout)?.[1];
      size = width && height ? `${width}x${height}` : '';
      if (Number(width) >= 790) break;
      await new Promise((res) => setTimeout(res, 300));
    }
    const [w, h] = size.split('x').map(Number);
    expect(w).toBeGreaterThanOrEqual(790);
    expect(h).toBeGreaterThanOrEqual(560);
  }, 60_000);
});
