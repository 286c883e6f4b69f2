/**
 * Attack (attack-3): a second local user still stops root's npm start. copyPartCode refuses to
 * replace the code folder while a process "runs from it", and since attack-2 judges only root's
 * and cloison's processes — by their real or effective uid — on their executable, mappings and
 * working folder. But a set-uid program another account starts runs with effective uid 0 in the
 * working folder that account chose: `cd /run/cloison-code/out && su root`, left at its password
 * prompt, is a "root process running from" the copy for as long as the prompt waits. And the
 * working folder still matches once the folder is gone: the stop removes the copy, the kernel then
 * names that working folder `/run/cloison-code/out (deleted)`, which still begins with the
 * folder's name — so the next `sudo npm start` refuses to start, and every one after it.
 *
 * Here: a copy made (an npm start running), `nobody` enters it and starts su, waiting at its
 * prompt; the npm start stops (its copy removed); the next start must make its copy. Seen
 * succeeding: "process N runs from …-code (another npm start on the same run folder?)".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyPartCode, partCodeFolder } from './partCode.mjs';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';
import { waitFor } from '../supervisor/testing/waitFor';

const REPO = process.cwd();

afterAll(() => removeTestRoots());

/** A process's effective uid (/proc/PID/status), or null once it is gone. */
function effectiveUid(pid: number): number | null {
  try {
    return Number(/^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return null;
  }
}

describe.skipIf(process.getuid?.() !== 0 || !existsSync('/usr/bin/su'))("npm start's code copy, against another account's set-uid program", () => {
  it("is made again after a stop although another account's su waits at its prompt in the old copy", async () => {
    if (!existsSync(join(REPO, 'out/supervisor/cloisonPart.js'))) throw new Error('npm run build first');
    const root = testRoot('cloison-codesuid-');
    chmodSync(root, 0o711);
    const runDir = join(root, 'r');
    const code = partCodeFolder(runDir);
    const running = copyPartCode(REPO, runDir); // an npm start running from its copy
    // The other account enters the copy (root's 0755) and starts su, which waits for a password on
    // a pipe nobody writes to: a process of effective uid 0 whose working folder is in the copy.
    let su: ChildProcess | null = null;
    try {
      su = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', '/bin/sh', '-c', `cd '${code}/out' && exec su root`], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
      await waitFor(() => effectiveUid(su!.pid!) === 0 && readlinkSync(`/proc/${su!.pid}/cwd`).startsWith(code), "the other account's su at its prompt");

      running.remove(); // that npm start stops: its copy goes
      expect(existsSync(code)).toBe(false);

      let refusal: string | null = null;
      try {
        copyPartCode(REPO, runDir).remove();
      } catch (err) {
        refusal = (err as Error).message;
      }
      // What root's next npm start sees (the pid it names, su's).
      expect(refusal, `su is process ${su.pid}`).toBeNull();
    } finally {
      if (su?.pid && effectiveUid(su.pid) !== null) process.kill(su.pid, 'SIGKILL');
    }
  });
});
