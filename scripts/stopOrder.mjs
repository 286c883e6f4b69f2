// What npm start runs outside the terminal's process group, and what stops it if npm start itself
// is gone. A terminal's Ctrl+C sends SIGINT to its whole foreground group: the cage manager (or the
// root supervisor, --single), the cages' outer bwrap processes and slirp4netns it spawned, and the
// shell's window all had npm's group, and each ended on its own at once — the cages before their
// applications were asked to quit (cage.apps.quit "not asked", LibreOffice's Document Recovery at
// the next start). Spawned `detached` (a session and group of their own), only npm and start.mjs
// get the terminal's signals, and start.mjs stops the rest in order (stopAll): the supervisor first
// (the applications asked to quit, then the cages, then the part), the shell's window after it.
//
// Detached, nothing ended them with the terminal any more; nor did anything when start.mjs was
// killed (SIGKILL, an out-of-memory kill) before: each is started with a parent-death signal
// (PR_SET_PDEATHSIG, through setpriv, which sets it last, after its own uid and bounding-set
// changes, so that they do not clear it). The manager's is SIGINT, the stop that always ends the
// cages (keptCagesStop.ts), applications asked first; the window's SIGTERM.

/** `command args…` run by setpriv with `signal` as its parent-death signal (merged into a setpriv call already there). */
export function withParentDeathSignal(launch, signal) {
  const flag = `--pdeathsig=${signal}`;
  if (launch.command === 'setpriv') return { command: 'setpriv', args: [flag, ...launch.args] };
  return { command: 'setpriv', args: [flag, '--', launch.command, ...launch.args] };
}

/** The spawn options of a child npm start stops itself: its own session and process group, off the terminal's Ctrl+C. */
export const OWN_GROUP = Object.freeze({ detached: true });
