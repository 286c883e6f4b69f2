/**
 * What the browser part takes away from itself before it listens to anything: it becomes the
 * `cloison` user for good (supplementary groups, gid, uid: the kernel then empties every
 * capability set of every thread). It was started by setpriv with no_new_privs and a bounding set
 * holding only what this step needs (browserPart.ts), so nothing it runs can gain privileges again.
 * Each step is checked: a restriction that did not happen stops the part.
 */
export function restrictBrowserPart(account: { uid: number; gid: number } | null): void {
  if (account) {
    if (account.uid === 0 || account.gid === 0) throw new Error('the browser part must not run as root');
    process.setgroups!([]);
    process.setgid!(account.gid);
    process.setuid!(account.uid);
    if (process.getuid!() !== account.uid || process.geteuid!() !== account.uid || process.getgid!() !== account.gid) throw new Error('the user change did not happen');
    let regained = false;
    try {
      process.setuid!(0);
      regained = true;
    } catch {
      /* expected: uid 0 cannot be taken back */
    }
    if (regained) throw new Error('uid 0 could be taken back');
  }
}
