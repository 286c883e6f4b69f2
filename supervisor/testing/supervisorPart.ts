/**
 * Test tool: the supervisor as the unprivileged `cloison` part (issue #29), built over a link to the root
 * cage manager (`SupervisorOptions.manager`), in its own state and run folders (`cloison`'s: the
 * journal and its key, the trust phrase, resume tokens, the diode's keys; its shell and admin
 * sockets), the cages' homes and sockets the manager's folders. Not started here: the caller
 * starts it (a test that listens to its cages first; the real program is cloisonPartMain.ts).
 */
import { connectManagerLink, type ManagerLink } from '../cageManager/managerLink';
import { parsePolicy } from '../policy/policyLoader';
import { Supervisor } from '../supervisor';

/** What the manager starts the part with (cloisonPart.ts `start`, JSON in its environment). */
export interface SupervisorPartStart {
  managerSocket: string;
  /** The manager's folders: only to name the cages' sockets. */
  stateDir: string;
  runDir: string;
  /** The part's own folders, writable by `cloison`. */
  partStateDir: string;
  partRunDir: string;
  /** The policy the manager runs, as text (the part parses it again: it decides nothing root does). */
  policyText: string;
  policySource: string;
  browserShell?: boolean;
  port?: number;
  rendererDir?: string | null;
  shellGroup?: number;
  adminGroup?: number;
}

export async function createSupervisorPart(start: SupervisorPartStart, log?: (msg: string, fields?: Record<string, unknown>) => void): Promise<{ sup: Supervisor; link: ManagerLink & { close(): void } }> {
  const link = await connectManagerLink(start.managerSocket, { waitForListener: true, managerDirs: { stateDir: start.stateDir, runDir: start.runDir } });
  const sup = new Supervisor({
    policy: parsePolicy(start.policyText, start.policySource),
    policySource: start.policySource,
    policyText: start.policyText,
    stateDir: start.partStateDir,
    runDir: start.partRunDir,
    rendererDir: start.rendererDir ?? null,
    browserShell: start.browserShell ?? false,
    ...(start.port !== undefined ? { port: start.port } : {}),
    ...(start.shellGroup !== undefined ? { shellGroup: start.shellGroup } : {}),
    ...(start.adminGroup !== undefined ? { adminGroup: start.adminGroup } : {}),
    manager: link,
    ...(log ? { log } : {}),
  });
  return { sup, link };
}
