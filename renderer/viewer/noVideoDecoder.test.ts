// @vitest-environment jsdom
/**
 * noVideoDecoder.ts: noVNC's H.264 check answers "no" at once when it runs after it — the
 * viewer's first import, ahead of noVNC's; a window with a VideoDecoder (as Chromium's) loses it.
 */
import { describe, expect, it } from 'vitest';
import viewerSource from './viewerMain.ts?raw';
import sessionSource from './viewerSession.ts?raw';

describe('the viewer without VideoDecoder', () => {
  it('is imported by the viewer before noVNC (which only its session, loaded after, imports)', () => {
    const imports = viewerSource
      .split('\n')
      .filter((l) => l.startsWith('import '));
    expect(imports[0]).toBe("import './noVideoDecoder';");
    expect(imports.some((l) => !l.startsWith('import type ') && (l.includes('@novnc/novnc') || l.includes('./viewerSession'))), 'a static import of noVNC').toBe(false);
    expect(viewerSource).toContain("import('./viewerSession')");
    expect(sessionSource.split('\n').filter((l) => l.startsWith('import ')).some((l) => l.includes("'@novnc/novnc'"))).toBe(true);
  });

  it('takes VideoDecoder off the window, so noVNC finds none to check', async () => {
    (window as { VideoDecoder?: unknown }).VideoDecoder = class {};
    expect('VideoDecoder' in window).toBe(true);
    await import('./noVideoDecoder');
    expect('VideoDecoder' in window).toBe(false);
  });
});
