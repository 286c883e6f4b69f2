/** ROOT_PART_CAPABILITY_NAMES as setpriv names them (lower case, no CAP_). */
export const ROOT_PART_BOUNDING: string[];
/** The command and arguments that run `node args…` as the root part: through setpriv, its bounding set cut, when root. */
export function rootPartCommand(execPath: string, args: string[], uid?: number): { command: string; args: string[] };
