/** `command args…` run by setpriv with `signal` as its parent-death signal (merged into a setpriv call already there). */
export function withParentDeathSignal(launch: { command: string; args: string[] }, signal: string): { command: string; args: string[] };
/** The spawn options of a child npm start stops itself: its own session and process group, off the terminal's Ctrl+C. */
export const OWN_GROUP: Readonly<{ detached: true }>;
