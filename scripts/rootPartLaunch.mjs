// npm start launches the root part (the cage manager, or the root supervisor alone) with the
// bounding set it keeps already cut (as the packaged unit's CapabilityBoundingSet does): with
// root's whole set, the part cuts it and executes itself again (rootPartRestriction.ts), and Node
// resets SIGHUP to its default at start (even an inherited SIG_IGN), so a reload sent between the
// second image's start and its hold ended the manager (#29 review). Cut here, there is no second image.

/** ROOT_PART_CAPABILITY_NAMES (supervisor/sandbox/rootPartRestriction.ts), as setpriv names them; a test keeps the two the same. */
export const ROOT_PART_BOUNDING = ['chown', 'dac_override', 'fowner', 'kill', 'setgid', 'setuid', 'setpcap', 'net_admin', 'net_bind_service', 'sys_chroot', 'sys_ptrace', 'sys_admin', 'setfcap'];

/** The command and arguments that run `node args…` as the root part: through setpriv when root. */
export function rootPartCommand(execPath, args, uid = process.getuid?.()) {
  if (uid !== 0) return { command: execPath, args };
  return { command: 'setpriv', args: [`--bounding-set=-all,${ROOT_PART_BOUNDING.map((c) => `+${c}`).join(',')}`, '--', execPath, ...args] };
}
