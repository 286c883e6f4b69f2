/**
 * Attack (attack-9): the card guard's relay program traced by its level's proxy uid. Under a root
 * supervisor the relay runs as the level's proxy uid — the uid of a pkcs11proxyd that parses every
 * byte a cage sends, with no seccomp filter, on a kernel without Yama — but outside the proxy's
 * control group, and it holds the report stream root journals from. A process of that uid (a
 * proxy a cage took over) that attaches to it with ptrace could forge the journal (a login
 * journaled as it likes), and fork through it a process of the proxy uid that outlives the proxy's
 * stop (its control group killed whole) — a foothold on the card after it was taken back. It can
 * kill the relay (its own uid), which is then started again for the next connection: a race at
 * each start is not enough to close, so the relay must be untraceable from its exec on.
 *
 * A real proxy (Caml Crush, SoftHSM2) started by a real SmartcardBroker, a signature through the
 * guard, then the relay attacked by a real process of the proxy uid.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBinary } from '../system/binaries';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { withHighCardProxy } from '../testing/highCardProxy';
import { skipWhenMissing } from '../testing/skipWithReason';
import { CARD_RECORD_RELAY_NAME } from './cardRecordRelay';

// High's card proxy, and low's (+ 1) for the token's group: two uids of 56740–56759 per process.
const PROXY_UID = 56740 + 2 * (process.pid % 10);
const missing = [...missingForCardTest('the relay traced by the proxy uid', { cages: false }), ...['strace', 'setpriv'].filter((b) => !findBinary(b)).map((b) => `${b} is missing`)];

const asProxy = (argv: string[]) => spawnSync('setpriv', ['--reuid', String(PROXY_UID), '--regid', String(PROXY_UID), '--clear-groups', ...argv], { encoding: 'utf8', timeout: 3000 });

describe("the card guard's relay program, against a process of its level's proxy uid", skipWhenMissing(missing), () => {
  it('cannot be traced, nor its memory read, by the proxy uid', async () => {
    const { root, token } = cardTestRoot('cloison-attack9-relaytrace-', PROXY_UID);
    const doc = join(root, 'doc');
    writeFileSync(doc, 'document\n');
    const seen = await withHighCardProxy(join(root, 'card'), token, PROXY_UID, {}, async (proxy) => {
      expect(await proxy.sign(doc, join(root, 'sig'))).toBe(256);
      const pid = execFileSync('pgrep', ['-P', String(process.pid), '-f', CARD_RECORD_RELAY_NAME], { encoding: 'utf8' }).trim();
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const fds = readdirSync(`/proc/${pid}/fd`).map((fd) => `${fd} ${readlinkSync(`/proc/${pid}/fd/${fd}`)}`);
      return {
        fds,
        uid: /^Uid:\s+(\d+)/m.exec(status)?.[1],
        filtered: /^Seccomp:\s+(\d+)/m.exec(status)?.[1],
        traced: asProxy(['strace', '-e', 'trace=none', '-p', pid]),
        memory: asProxy(['dd', `if=/proc/${pid}/mem`, 'bs=1', 'count=1', 'skip=4194304', 'status=none']),
        maps: asProxy(['cat', `/proc/${pid}/maps`]),
      };
    });
    // The relay runs as the proxy uid (the control: it is the one attacked).
    expect(seen.uid).toBe(String(PROXY_UID));
    // Taken over, it could not do much either: a syscall filter of its own (mode 2), once set up.
    expect(seen.filtered).toBe('2');
    expect(seen.traced.stderr).toMatch(/Operation not permitted/);
    expect(seen.maps.status).not.toBe(0);
    expect(seen.memory.stderr).toMatch(/Permission denied|Operation not permitted/);
    // And it holds nothing of root's but what it was given (0-5) and its own epoll: a descriptor
    // root left open without close-on-exec would be the proxy uid's through a relay taken over.
    expect(seen.fds.filter((fd) => !/^[0-5] /.test(fd) && !/anon_inode:\[eventpoll\]/.test(fd))).toEqual([]);
  }, 120_000);
});
