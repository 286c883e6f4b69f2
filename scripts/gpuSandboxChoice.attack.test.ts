/**
 * Attack (attack-5): the shell's GPU process without its seccomp filter on a host whose render node
 * Chromium cannot use. shellChromium.mjs passes --disable-gpu only when /dev/dri holds no renderD*
 * (hostHasRenderNode): a node's presence is read as a GPU Chromium drives. Where Chromium cannot —
 * a virtual machine's 2D-only GPU (virtio-gpu without virgl registers a render node), a driver it
 * blocklists, a node the shell's user may not open (no `render` group, no seat ACL) — it falls back
 * to software GL exactly as with no GPU, and that GPU process, which runs every renderer's drawing
 * commands (the viewers', which parse the cages' pixels, included), has no seccomp filter
 * (start.test.ts saw Seccomp 0 without a GPU before --disable-gpu).
 *
 * Here: a /dev of the test's own (a private mount namespace) whose dri/renderD128 is a node that is
 * no DRM device (a bind of /dev/null: what Chromium meets when it cannot use the node), the flags
 * shellChromiumArgs chooses for such a folder, and Chromium run with them as an unprivileged uid.
 * The control: the same Chromium with --disable-gpu has its GPU process under a filter.
 *
 * What a user should get: the GPU process under a seccomp filter (Seccomp 2), whatever /dev/dri holds.
 *
 * Amended with the fix (cardfix-5): the modes are read once the GPU process is the one Chromium
 * keeps (the same for 4 s), not 2 s after the first appears: with --gpu-sandbox-failures-fatal
 * the first ones exit at start and Chromium starts another, which the old wait caught mid-way.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostHasRenderNode, shellChromiumArgs } from './shellChromium.mjs';
import { testRoot } from '../supervisor/testing/testRoots';

const CHROMIUM = '/usr/lib/chromium/chromium';
const have = (b: string) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0;
const missing = ['unshare', 'setpriv', 'xvfb-run', 'pgrep'].filter((b) => !have(b));
if (!have(CHROMIUM)) missing.push(CHROMIUM);
const rootless = process.getuid?.() !== 0;

/** Inside a private mount namespace: a /dev of its own with a render node no DRM driver answers, then Chromium as nobody with the flags given; prints each Chromium process's type and Seccomp mode. */
const INNER = `set -e
ND="$1"; P="$2"; shift 2
mount -t tmpfs -o mode=755 none "$ND"
for n in null zero full random urandom tty ptmx; do touch "$ND/$n"; mount --bind "/dev/$n" "$ND/$n"; done
mkdir "$ND/shm" "$ND/pts" "$ND/dri"
mount --bind /dev/shm "$ND/shm"; mount --bind /dev/pts "$ND/pts"; ln -s /proc/self/fd "$ND/fd"
touch "$ND/dri/renderD128"; mount --bind /dev/null "$ND/dri/renderD128"
mount --move "$ND" /dev
cp "$XAUTHORITY" "$P/Xauthority"; chown -R 65534:65534 "$P"
setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$P" DISPLAY="$DISPLAY" XAUTHORITY="$P/Xauthority" ${CHROMIUM} --user-data-dir="$P" --no-first-run --disable-background-networking --disable-component-update "$@" about:blank >/dev/null 2>&1 &
CH=$!
# The GPU process Chromium settles on: the same one for 4 s, a renderer beside it (one that
# exits at start, as a failed sandbox makes it with --gpu-sandbox-failures-fatal, is started again).
i=0; last=""; same=0
while [ $i -lt 900 ]; do
  i=$((i + 1)); sleep 0.1
  gpu=$(pgrep -f -- "--type=gpu-process.*$P|$P.*--type=gpu-process" | tr '\n' ' ')
  if [ -n "$gpu" ] && [ "$gpu" = "$last" ] && pgrep -f -- "--type=renderer.*$P|$P.*--type=renderer" >/dev/null; then same=$((same + 1)); else same=0; fi
  last=$gpu
  [ $same -ge 40 ] && break
done
for p in $(pgrep -f -- "$P"); do
  t=$(tr '\\0' ' ' < /proc/$p/cmdline | grep -o -- '--type=[a-z-]*' || echo browser)
  echo "$t $(awk '/^Seccomp:/ {print $2}' /proc/$p/status)"
done
kill $CH 2>/dev/null || true
wait $CH 2>/dev/null || true
`;

/** The GPU process's Seccomp modes of a Chromium run with `flags` on a host whose render node it cannot use. */
function gpuSeccomp(root: string, name: string, flags: string[]): number[] {
  const dev = join(root, `${name}-dev`);
  const profile = join(root, `${name}-profile`);
  mkdirSync(dev);
  mkdirSync(profile);
  chmodSync(root, 0o711);
  const script = join(root, 'inner.sh');
  writeFileSync(script, INNER, { mode: 0o755 });
  const run = spawnSync('xvfb-run', ['-a', 'unshare', '-m', '--propagation', 'private', '--', '/bin/sh', script, dev, profile, ...flags], { encoding: 'utf8', timeout: 150_000 });
  const lines = run.stdout.split('\n').filter((l) => l.startsWith('--type=gpu-process '));
  return lines.map((l) => Number(l.split(' ')[1]));
}

describe.skipIf(missing.length > 0 || rootless)('the shell\'s GPU process on a host with a render node Chromium cannot use', () => {
  it('keeps its seccomp filter', () => {
    const root = testRoot('cloison-gpu-');
    // What shellChromium.mjs decides for such a host: its /dev/dri holds a renderD128.
    const dri = join(root, 'dri');
    mkdirSync(dri);
    writeFileSync(join(dri, 'renderD128'), '');
    expect(hostHasRenderNode(dri)).toBe(true);
    const chosen = shellChromiumArgs({ locale: 'en', gpu: hostHasRenderNode(dri) }).filter((a) => !a.startsWith('--lang'));
    // The control: --disable-gpu on the same host puts the GPU process under a filter.
    expect(gpuSeccomp(root, 'control', [...chosen.filter((a) => a !== '--disable-gpu'), '--disable-gpu'])).toEqual([2]);
    expect(gpuSeccomp(root, 'shell', chosen)).toEqual([2]);
  }, 360_000);
});
