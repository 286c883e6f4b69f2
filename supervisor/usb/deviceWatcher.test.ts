/**
 * The watcher rescans sysfs on its timer and, when udev runs, at once on every udev block event.
 * sysfs is a tree shaped like the kernel's; udevadm is a stand-in script that prints one event line
 * when told to (the real one needs a running udev, which containers lack).
 */
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { testRoot } from '../testing/testRoots';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceWatcher } from './deviceWatcher';
import type { BlockDevice } from './sysfsBlockDevices';

function loopEntry(sys: string, name: string, backing: string): void {
  const dev = join(sys, 'devices', 'virtual', 'block', name);
  mkdirSync(join(dev, 'loop'), { recursive: true });
  writeFileSync(join(dev, 'size'), '16384\n');
  writeFileSync(join(dev, 'loop', 'backing_file'), `${backing}\n`);
  mkdirSync(join(sys, 'class', 'block'), { recursive: true });
  symlinkSync(dev, join(sys, 'class', 'block', name));
}

describe('device watcher', () => {
  const root = testRoot('cloison-watch-');
  const watchers: DeviceWatcher[] = [];
  const savedPath = process.env.PATH;
  afterEach(() => {
    for (const w of watchers) w.stop();
    process.env.PATH = savedPath;
  });

  it('reports arrivals and removals found by its periodic rescan, once each', async () => {
    const sys = join(root, 'a');
    const watcher = new DeviceWatcher({ sysRoot: sys, loopBackingDir: '/keys', intervalMs: 50, udevControl: join(root, 'no-udev') });
    watchers.push(watcher);
    const events: string[] = [];
    watcher.on('arrived', (d: BlockDevice) => events.push(`+${d.name}`));
    watcher.on('removed', (d: BlockDevice) => events.push(`-${d.name}`));
    const eventsReach = async (n: number) => {
      for (let i = 0; i < 100 && events.length < n; i++) await new Promise((r) => setTimeout(r, 50));
    };
    watcher.start();
    loopEntry(sys, 'loop4', '/keys/a.img');
    await eventsReach(1);
    writeFileSync(join(sys, 'devices', 'virtual', 'block', 'loop4', 'loop', 'backing_file'), '/keys/a.img (deleted)\n');
    await eventsReach(2);
    await new Promise((r) => setTimeout(r, 200)); // a few more scans: nothing is reported twice
    expect(events).toEqual(['+loop4', '-loop4']);
  });

  it('rescans at once on a udev block event when udev runs, without waiting for its timer', async () => {
    const sys = join(root, 'b');
    const bin = join(root, 'bin');
    mkdirSync(bin, { recursive: true });
    const go = join(root, 'go');
    // Prints one udev-style line once the test creates the "go" file, then idles like udevadm.
    writeFileSync(join(bin, 'udevadm'), `#!/bin/sh\nwhile [ ! -e ${go} ]; do sleep 0.02; done\necho "UDEV  [1.0] add      /devices/virtual/block/loop5 (block)"\nexec sleep 30\n`);
    chmodSync(join(bin, 'udevadm'), 0o755);
    const control = join(root, 'udev-control');
    writeFileSync(control, '');
    process.env.PATH = `${bin}:${savedPath}`;
    const watcher = new DeviceWatcher({ sysRoot: sys, loopBackingDir: '/keys', intervalMs: 60_000, udevControl: control });
    watchers.push(watcher);
    const arrived = new Promise<string>((resolve) => watcher.on('arrived', (d: BlockDevice) => resolve(d.name)));
    watcher.start();
    loopEntry(sys, 'loop5', '/keys/b.img');
    writeFileSync(go, '');
    // The 60 s timer cannot fire within the test's timeout: only the udev event can have rescanned.
    expect(await arrived).toBe('loop5');
    rmSync(go);
  });
});
