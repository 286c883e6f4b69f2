/**
 * The root part's restriction as an attacker holding the root part would meet it: the probe runs
 * under exactly what the supervisor's main() applies (testing/underRootPartRestriction.ts), and
 * once without it, where every one of these attacks works.
 */
import { describe, expect, it } from 'vitest';
import { skipWhen } from '../testing/skipWithReason';
import { probeRestriction } from '../testing/restrictionProbe';
import { capabilityMask, capabilityNames } from '../system/selfRestriction';
import { ROOT_PART_CAPABILITY_NAMES } from './rootPartRestriction';

const UNDER_ROOT_PART = [process.execPath, '--import', 'tsx', 'supervisor/testing/underRootPartRestriction.ts', '--'];
/** Host administration, tracing, and what the dropped capabilities gave: a /dev/mem node, raw packets. */
const REFUSED = ['ptrace', 'kexec_load', 'init_module', 'finit_module', 'delete_module', 'bpf', 'perf_event_open', 'swapoff', 'reboot', 'clock_settime', 'open_by_handle_at', 'mknod', 'rawSocket'];

describe('the root part\'s restriction', skipWhen(process.getuid?.() !== 0 && 'run as root: the root part\'s restriction is applied to root'), () => {
  it('without it (the control), root makes a /dev/mem node, opens a raw socket, and reaches every kernel interface', async () => {
    const { report, status } = await probeRestriction({ steps: [] });
    expect(status.seccomp).toBe(0);
    expect(report.attacks.mknod).toBe('ok');
    expect(report.attacks.rawSocket).toBe('ok');
    for (const name of REFUSED) expect(`${name} ${report.attacks[name]}`).not.toBe(`${name} EPERM`);
  }, 90_000);

  it('keeps root and exactly its capabilities on every thread, Seccomp 2 without NoNewPrivs; refuses host administration; leaves bwrap its namespaces and mounts', async () => {
    const { report, status, threads } = await probeRestriction({ steps: [] }, UNDER_ROOT_PART);
    expect(report.error).toBeUndefined();
    expect(capabilityNames(status.capBnd).sort()).toEqual([...ROOT_PART_CAPABILITY_NAMES].sort());
    const mask = capabilityMask(ROOT_PART_CAPABILITY_NAMES).toString(16).padStart(16, '0');
    for (const t of threads) expect(t).toMatchObject({ uid: 0, capBnd: mask, capEff: mask, capPrm: mask, capInh: '0000000000000000', noNewPrivs: 0, seccomp: 2 });
    for (const name of REFUSED) expect(`${name} ${report.attacks[name]}`).toBe(`${name} EPERM`);
    for (const name of ['unshare', 'mount', 'setuid0']) expect(`${name} ${report.attacks[name]}`).toBe(`${name} ok`);
    expect(report.programs).toEqual({ true: 'exit 0', 'unshare -U': 'exit 0', 'unshare -m': 'exit 0' });
  }, 90_000);
});
