// npm start's split runs its part as the `cloison` account from folders beside the run and state
// folders (`<run-dir>-code`, `<run-dir>-broker`, `<state-dir>-broker`) and reaches the manager's
// socket in the run folder. A --run-dir (or --state-dir) under a folder that account cannot enter
// — a 0700 folder of root's, a private home — let the manager copy the code, mount the part's
// staging area and start the part, which then failed with "Cannot find module 'koffi'" (its own
// bundle's first require, in a folder it could not read). Asked first, before anything is copied,
// mounted or started: which folder, which account, what to do.
import { spawnSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';

/** Whether `account` may enter `folder` (search on it and on every folder above: the kernel's own path walk). */
function enters(account, folder) {
  return spawnSync('setpriv', [`--reuid=${account}`, `--regid=${account}`, '--init-groups', '--inh-caps=-all', '--', 'test', '-x', folder], { stdio: 'ignore' }).status === 0;
}

/** The folder, its mode and owner, as `ls -ld` would say them (for the message). */
function describe(folder) {
  try {
    const st = lstatSync(folder);
    return `${folder} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, uid ${st.uid})`;
  } catch {
    return folder;
  }
}

/** The nearest folder at or above `path` that exists (a run folder not made yet is made by the manager). */
function existingAbove(path) {
  let at = path;
  for (;;) {
    try {
      if (lstatSync(at).isDirectory()) return at;
    } catch {
      /* not there yet */
    }
    if (dirname(at) === at) return at;
    at = dirname(at);
  }
}

/**
 * Why the account cannot reach the folders its part runs from and keeps its files in beside
 * `folder` (the run or state folder; `what` names the option), or null when it can. The first
 * folder on the way it may not enter is named.
 */
export function partFolderProblem(account, folder, what) {
  const parent = existingAbove(dirname(resolve(folder)));
  if (enters(account, parent)) return null;
  // The first folder from / down that it may not enter: the one to open (or to choose away from).
  const parts = parent.split(sep).filter(Boolean);
  let blocked = parent;
  for (let i = 1; i <= parts.length; i++) {
    const at = `${sep}${parts.slice(0, i).join(sep)}`;
    if (!enters(account, at)) {
      blocked = at;
      break;
    }
  }
  return (
    `the ${account} account cannot enter ${describe(blocked)}, above the ${what} ${resolve(folder)}: ` +
    `${what === '--run-dir' ? `its part runs from ${resolve(folder)}-code and keeps its run files in ${resolve(folder)}-broker` : `its part keeps its state in ${resolve(folder)}-broker`}, beside it. ` +
    `Choose a ${what} whose every folder above may be entered by others (like /run and /var/lib, the defaults), ` +
    `or let ${account} pass (chmod o+x ${blocked}, or setfacl -m u:${account}:x ${blocked}); nothing was started`
  );
}
