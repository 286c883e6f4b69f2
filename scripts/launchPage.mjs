// The page the shell's Chromium opens at once, while the supervisor starts: a file only the shell's
// user can read, which looks for a script beside it again and again and, once the supervisor listens
// (the script written, the page itself turned into a redirect for any later load), is sent by it
// straight on to the shell's single-use address — one navigation — which thus never appears on a
// command line.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchownSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How often the waiting page looks again, in seconds: every start waits half of it on average.
 * A look is one script request for a missing file (an image's before: 0.050–0.057 CPU-s a second
 * at 0.05 s, as at 0.2, the 5 s fallback reload most of it); 0.2 s cost each start ~75 ms (bench/RESULTS.md).
 */
export const LAUNCH_RECHECK_SECONDS = 0.05;

/**
 * The script `go` writes beside the page once the supervisor listens: it sends the browser on to
 * the shell's address (location.replace), straight from the waiting page. The waiting page tries to
 * load it again and again; a look for a missing file costs next to nothing, where reloading the page
 * itself (a navigation: ~0.2 s of CPU each in Chromium) every 0.2 s took over half of two cores
 * while the supervisor and its cages started (bench/RESULTS.md, start-8). Before, the look was for
 * an image mark, on which the page reloaded itself into a redirect: two navigations before the
 * shell's page started loading (issue #26). The script is the user's file in the user's own folder,
 * as the page that runs it is: whoever could write it could write the page.
 */
export const GO_SCRIPT = 'launch.go.js';

/**
 * A reload this often whatever the looks say: were the script's load ever lost (a meta refresh once
 * was, in a loaded CI run), the page still moves on (by then the redirect). One navigation each.
 */
const FALLBACK_RELOAD_SECONDS = 5;

const LOOK_FOR_GO = `<script>
const look = () => { const go = document.createElement('script'); go.onerror = () => { go.remove(); setTimeout(look, ${LAUNCH_RECHECK_SECONDS * 1000}); }; go.src = ${JSON.stringify(GO_SCRIPT)} + '?' + Date.now(); document.head.append(go); };
look();
setTimeout(() => location.reload(), ${FALLBACK_RELOAD_SECONDS * 1000});
</script>`;

const WAITING = `<!doctype html><meta charset="utf-8"><title>Cloison</title>${LOOK_FOR_GO}<body style="background:#222;color:#ddd;font:20px sans-serif;display:grid;place-items:center;height:100vh;margin:0">Cloison démarre…\n`;

/**
 * Writes the waiting page in `dir` (owned by `owner` when given: the user Chromium runs as).
 * `go(url)` turns it into a redirect to the shell (for any later load of it), then writes the script
 * that sends the waiting page there at once.
 */
export function createLaunchPage(dir, owner = null) {
  const path = join(dir, 'launch.html');
  const write = (content, to = path) => {
    // Whole or not at all: Chromium may read it at any moment. The folder is the user's and npm
    // start may be root: a new name made here (O_EXCL, O_NOFOLLOW: never a link or a file someone
    // put there) and owned through its descriptor, so nothing the user plants is written or chowned.
    const next = join(dir, `launch.${randomBytes(8).toString('hex')}.next`);
    const fd = openSync(next, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, content);
      if (owner) fchownSync(fd, owner.uid, owner.gid);
    } finally {
      closeSync(fd);
    }
    renameSync(next, to);
  };
  // A script left by an earlier page would send this one to an address spent or gone.
  rmSync(join(dir, GO_SCRIPT), { force: true });
  write(WAITING);
  return {
    path,
    go: (url) => {
      write(redirectTo(url));
      write(goTo(url), join(dir, GO_SCRIPT));
    },
  };
}

/** The address as a script's string (no `</script>` can end it early in a page). */
const inScript = (url) => JSON.stringify(url).replace(/</g, '\\u003c');

/** The script that sends the waiting page on (a script file: no markup, the address a JSON string). */
export function goTo(url) {
  return `location.replace(${inScript(url)});\n`;
}

/** The page that sends the browser on: a meta refresh, and the same by script a second later should it be dropped. */
export function redirectTo(url) {
  return `<!doctype html><meta http-equiv="refresh" content="0;url=${url}"><title>Cloison</title><script>setTimeout(() => location.replace(${inScript(url)}), 1000)</script>\n`;
}
