/**
 * What an unprivileged part (the browser part, the sound part) takes away from itself before it
 * reads anything (system/selfRestriction.ts): its bounding set emptied, then the `cloison` user for
 * good (the kernel then empties every capability set), no new privileges, and the unprivileged
 * service's syscall filter on every thread (processSyscallFilters.ts: no mount, namespace, tracing,
 * uid change…). It was started by setpriv with no_new_privs and a bounding set holding only what
 * these steps need. Each step throws if it did not happen: the part then stops.
 * Started by an unprivileged supervisor (no account), it keeps its user and takes the rest.
 * Part-side only, apart from the root part's modules (unprivilegedPart.ts): its bundle stays small.
 */
import { dropBoundingCapabilities, installSeccompFilter, privilegeStatus, restrictToUnprivilegedService, setNoNewPrivileges } from '../system/selfRestriction';
import { serviceSeccompProgram } from './processSyscallFilters';

/** `program`: the part's syscall filter; the service's unless the part builds sandboxes (the `cloison` part's). */
export function restrictUnprivilegedPart(part: string, account: { uid: number; gid: number } | null, program: Buffer = serviceSeccompProgram()): void {
  if (account) {
    dropBoundingCapabilities([]);
    restrictToUnprivilegedService({ uid: account.uid, gid: account.gid, groups: [] }, program);
  } else {
    setNoNewPrivileges();
    installSeccompFilter(program);
  }
  const status = privilegeStatus();
  if (status.uid === 0 || status.capEff !== '0000000000000000' || status.noNewPrivs !== 1 || status.seccomp !== 2) {
    throw new Error(`${part} is not restricted: uid ${status.uid}, CapEff ${status.capEff}, NoNewPrivs ${status.noNewPrivs}, Seccomp ${status.seccomp}`);
  }
}

