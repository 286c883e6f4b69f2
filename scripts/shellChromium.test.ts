/**
 * The shell's Chromium flags that weigh on memory (issue #26): the network service folded into the
 * browser process on every host; the GPU process a software compositor, under its seccomp filter,
 * on a host with no GPU (no DRM render node). What the running processes then are is checked in
 * start.test.ts (every renderer and the GPU process under a filter, no network process).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostHasRenderNode, NO_ON_DEVICE_MODEL_CLASS, SHELL_PROXY_SERVER, shellChromiumArgs } from './shellChromium.mjs';

describe("the shell's Chromium flags", () => {
  const root = mkdtempSync(join(tmpdir(), 'cloison-shell-flags-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a GPU is one with a render node: a card alone (a display controller) or no /dev/dri is none', () => {
    const dri = (names: string[]) => {
      const dir = mkdtempSync(join(root, 'dri-'));
      for (const name of names) writeFileSync(join(dir, name), '');
      return dir;
    };
    expect(hostHasRenderNode(dri(['card0', 'renderD128']))).toBe(true);
    expect(hostHasRenderNode(dri(['card0']))).toBe(false);
    expect(hostHasRenderNode(join(root, 'none'))).toBe(false);
    mkdirSync(join(root, 'empty'));
    expect(hostHasRenderNode(join(root, 'empty'))).toBe(false);
  });

  it('without a GPU, software compositing; with one, Chromium keeps its GPU; the network service in the browser process either way', () => {
    const without = shellChromiumArgs({ locale: 'fr', gpu: false });
    const withGpu = shellChromiumArgs({ locale: 'fr', gpu: true });
    expect(without).toContain('--disable-gpu');
    expect(withGpu).not.toContain('--disable-gpu');
    for (const args of [without, withGpu]) {
      // One list each: Chromium reads only the last --enable-features / --disable-features.
      expect(args.filter((a) => a.startsWith('--enable-features='))).toEqual(['--enable-features=NetworkServiceInProcess2']);
      expect(args.filter((a) => a.startsWith('--disable-features='))).toHaveLength(1);
      expect(args).toContain('--site-per-process');
      expect(args).not.toContain('--no-sandbox');
    }
  });

  it('sends all but loopback to a proxy nothing can listen as, and starts no crash handler (shellReach.attack.test.ts runs them)', () => {
    for (const gpu of [false, true]) {
      const args = shellChromiumArgs({ locale: 'fr', gpu });
      expect(args.filter((a) => a.startsWith('--proxy-'))).toEqual([`--proxy-server=${SHELL_PROXY_SERVER}`]);
      // Chromium shows its "unsupported command-line flag" bar above the band for this one.
      expect(args.filter((a) => a.startsWith('--host-resolver-rules'))).toEqual([]);
      expect(args).toContain('--disable-crashpad-for-testing');
      expect(args).toEqual(expect.arrayContaining(['--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']));
    }
    expect(new URL(SHELL_PROXY_SERVER)).toMatchObject({ hostname: '127.0.0.1', port: '0' });
  });

  it("declares the on-device model performance class, so Chromium never starts its model service to benchmark the machine", () => {
    // Without it, the on-device model service and its broker start 3 minutes in (start.test.ts checks
    // Chromium took the class: it is in the profile's Local State from the start).
    for (const gpu of [false, true]) {
      const args = shellChromiumArgs({ locale: 'en', gpu });
      expect(args.filter((a) => a.startsWith('--optimization-guide-performance-class='))).toEqual([`--optimization-guide-performance-class=${NO_ON_DEVICE_MODEL_CLASS}`]);
    }
    expect(NO_ON_DEVICE_MODEL_CLASS).toBeGreaterThan(0); // 0 is "unknown": Chromium would benchmark anyway
  });
});
