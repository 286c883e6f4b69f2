/**
 * A Node process restricting itself, tried from inside it as an attacker with code execution there
 * would: each probe is its own child process (testing/selfRestrictionProbe.ts; the test runner is
 * never restricted), its privileges read from /proc — every thread's — while it still runs.
 * The unrestricted control shows each attack reaching the kernel; restricted, each is refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { skipWhen, skipWithReason } from '../testing/skipWithReason';
import { journalWriterAccount } from '../audit/journalKey';
import { asUserOverCheckoutView, probeRestriction } from '../testing/restrictionProbe';
import type { ProbeRequest } from '../testing/selfRestrictionProbe';
import { ROOT_PART_DENIED, SERVICE_DENIED } from '../sandbox/processSyscallFilters';
import { capabilityMask, capabilityNames, installSeccompFilter, type CapabilityName } from './selfRestriction';

const probe = (request: ProbeRequest) => probeRestriction(request);

const cloison = journalWriterAccount();
const NO_CLOISON = 'no cloison user (setup.sh creates it)';
const ROOT_KEEPS: CapabilityName[] = ['CAP_SYS_ADMIN', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SETGID'];
const EVERY_ATTACK = ['unshare', 'mount', 'setns', 'ptrace', 'kexec_load', 'init_module', 'finit_module', 'delete_module', 'bpf', 'perf_event_open', 'keyctl', 'swapoff', 'reboot', 'clock_settime', 'open_by_handle_at', 'mknod', 'rawSocket', 'setuid0'];
const ROOT_PART_ATTACKS = ['ptrace', 'kexec_load', 'init_module', 'finit_module', 'delete_module', 'bpf', 'perf_event_open', 'swapoff', 'reboot', 'clock_settime', 'open_by_handle_at'];

describe('a Node process restricting itself', () => {
  it('names every denied syscall by its x86_64 number', () => {
    const header = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
    if (!existsSync(header)) return; // kernel ABI; the header only double-checks them
    const text = readFileSync(header, 'utf8');
    for (const rule of [...SERVICE_DENIED, ...ROOT_PART_DENIED]) expect(new RegExp(`#define __NR_${rule.name} (\\d+)\\n`).exec(text)?.[1], rule.name).toBe(String(rule.nr));
  });

  it('refuses a program that is not classic BPF before calling the kernel', () => {
    expect(() => installSeccompFilter(Buffer.alloc(12))).toThrow(/not a classic BPF program/);
    expect(() => installSeccompFilter(Buffer.alloc(0))).toThrow(/not a classic BPF program/);
  });

  it('unrestricted (the control): every attack reaches the kernel, and root gets in', async () => {
    const { report, status } = await probe({ steps: [], serve: true });
    expect(report.error).toBeUndefined();
    expect(status.seccomp).toBe(0);
    // What an attacker holding this process does: a mount, a namespace, tracing, the keyring, uid 0.
    for (const name of ['unshare', 'mount', 'ptrace', 'keyctl', 'mknod', 'rawSocket', 'setuid0']) expect(`${name} ${report.attacks[name]}`).toBe(`${name} ok`);
    // The others get past any filter to the kernel's own argument checks (a module that does not exist…).
    for (const name of EVERY_ATTACK) expect(`${name} ${report.attacks[name]}`).not.toBe(`${name} EPERM`);
    expect(report.programs['unshare -m']).toBe('exit 0');
  }, 90_000);

  it('as the unprivileged service: cloison, no capability, NoNewPrivs 1, Seccomp 2 on every thread; every attack refused; HTTP and WebSocket still served', { ...skipWhen(!cloison && NO_CLOISON), timeout: 90_000 }, async (ctx) => {
    if (!cloison) return skipWithReason(ctx, NO_CLOISON);
    const { report, status, threads } = await probe({ steps: [{ service: { uid: cloison.uid, gid: cloison.gid } }], serve: true });
    expect(report.error).toBeUndefined();
    expect(status).toMatchObject({ uid: cloison.uid, gid: cloison.gid, groups: [], capInh: '0000000000000000', capPrm: '0000000000000000', capEff: '0000000000000000', capAmb: '0000000000000000', noNewPrivs: 1, seccomp: 2 });
    expect(threads.length).toBeGreaterThan(4); // V8's and libuv's threads
    for (const t of threads) expect(t).toMatchObject({ uid: cloison.uid, capEff: '0000000000000000', capPrm: '0000000000000000', noNewPrivs: 1, seccomp: 2 });
    for (const name of EVERY_ATTACK) expect(`${name} ${report.attacks[name]}`).toBe(`${name} EPERM`);
    // Its children inherit it: no user namespace (open to any user here without the filter), no mount one.
    expect(report.programs).toEqual({ true: 'exit 0', 'unshare -U': 'exit 1', 'unshare -m': 'exit 1' });
    expect(report.served).toEqual({ http: 'hello over http', ws: 'echo ping' });
  });

  it('started as cloison already (a unit\'s User=): the same restriction applies without any uid change', { ...skipWhen(!cloison && NO_CLOISON), timeout: 90_000 }, async () => {
    const asCloison = asUserOverCheckoutView(cloison!);
    const { report, status } = await probeRestriction({ steps: [{ service: { uid: cloison!.uid, gid: cloison!.gid } }], serve: true }, asCloison.prefix).finally(asCloison.remove);
    expect(report.error).toBeUndefined();
    expect(status).toMatchObject({ uid: cloison!.uid, capEff: '0000000000000000', capPrm: '0000000000000000', noNewPrivs: 1, seccomp: 2 });
    for (const name of EVERY_ATTACK) expect(`${name} ${report.attacks[name]}`).toBe(`${name} EPERM`);
    expect(report.served).toEqual({ http: 'hello over http', ws: 'echo ping' });
  });

  it('the user drop alone: no capability in any set, and uid 0 cannot be taken back', { ...skipWhen(!cloison && NO_CLOISON), timeout: 90_000 }, async () => {
    const { report, status } = await probe({ steps: [{ user: { uid: cloison!.uid, gid: cloison!.gid } }] });
    expect(report.error).toBeUndefined();
    expect(status).toMatchObject({ uid: cloison!.uid, capInh: '0000000000000000', capPrm: '0000000000000000', capEff: '0000000000000000', capAmb: '0000000000000000', noNewPrivs: 0, seccomp: 0 });
    expect(report.attacks.setuid0).toBe('EPERM');
    expect(report.attacks.mount).toBe('EPERM');
    // Without the filter a user namespace is still open to it: what the service's filter closes.
    expect(report.programs['unshare -U']).toBe('exit 0');
  });

  it('as the root part: the bounding set cut to what it keeps, its filter on every thread without NoNewPrivs; host administration refused, namespaces and mounts still there for bwrap', async () => {
    const { report, status, threads } = await probe({ steps: [{ bounding: ROOT_KEEPS }, { seccomp: 'root' }] });
    expect(report.error).toBeUndefined();
    expect(capabilityNames(status.capBnd).sort()).toEqual([...ROOT_KEEPS].sort());
    expect(BigInt(`0x${status.capBnd}`)).toBe(capabilityMask(ROOT_KEEPS));
    expect(status).toMatchObject({ uid: 0, noNewPrivs: 0, seccomp: 2 });
    for (const t of threads) expect(t).toMatchObject({ noNewPrivs: 0, seccomp: 2 });
    for (const name of ROOT_PART_ATTACKS) expect(`${name} ${report.attacks[name]}`).toBe(`${name} EPERM`);
    for (const name of ['unshare', 'mount', 'setuid0']) expect(`${name} ${report.attacks[name]}`).toBe(`${name} ok`);
    expect(report.programs).toEqual({ true: 'exit 0', 'unshare -U': 'exit 0', 'unshare -m': 'exit 0' });
  }, 90_000);

  it('fails loudly, and installs nothing, when one thread cannot take the filter', async () => {
    const { report, threads } = await probe({ steps: ['noNewPrivs', 'otherFilterOnAWorker', { seccomp: 'service' }] });
    expect(report.error).toMatch(/^seccomp\(SECCOMP_FILTER_FLAG_TSYNC\) failed: thread \d+ could not take the filter; none has it$/);
    // Only the worker's own one-instruction filter is anywhere: ours went to no thread.
    expect(threads.filter((t) => t.seccomp === 2).map((t) => t.seccompFilters)).toEqual([1]);
  }, 90_000);
});
