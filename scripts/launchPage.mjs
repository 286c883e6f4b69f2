// The page the shell's Chromium opens at once, while the supervisor starts: a file only the shell's
// user can read, which looks for a mark beside it again and again and, once the supervisor listens
// (the page a redirect, then the mark written), sends the browser on to the shell's single-use
// address — which thus never appears on a command line.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchownSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How often the waiting page looks again, in seconds: every start waits half of it on average.
 * A look is one image request for a missing file: 0.050–0.057 CPU-s a second at 0.05 s, as at 0.2
 * (the 5 s fallback reload is most of it); 0.2 s cost each start ~75 ms (bench/RESULTS.md).
 */
export const LAUNCH_RECHECK_SECONDS = 0.05;

/**
 * The mark `go` writes once the page is the redirect: a 1×1 GIF, which the waiting page tries to
 * load as an image. Looking for it costs next to nothing, where reloading the page itself (a
 * navigation: ~0.2 s of CPU each in Chromium) every 0.2 s took over half of two cores while the
 * supervisor and its cages started (bench/RESULTS.md, start-8). An image, not a script: nothing
 * written in that folder is ever run by the page.
 */
export const READY_MARK = 'launch.ready.gif';
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * A reload this often whatever the mark says: were the mark's load ever lost (a meta refresh once
 * was, in a loaded CI run), the page still moves on. One navigation each.
 */
const FALLBACK_RELOAD_SECONDS = 5;

const LOOK_FOR_MARK = `<script>
const look = () => { const mark = new Image(); mark.onload = () => location.reload(); mark.onerror = () => setTimeout(look, ${LAUNCH_RECHECK_SECONDS * 1000}); mark.src = ${JSON.stringify(READY_MARK)} + '?' + Date.now(); };
look();
setTimeout(() => location.reload(), ${FALLBACK_RELOAD_SECONDS * 1000});
</script>`;

const WAITING = `<!doctype html><meta charset="utf-8"><title>Cloison</title>${LOOK_FOR_MARK}<body style="background:#222;color:#ddd;font:20px sans-serif;display:grid;place-items:center;height:100vh;margin:0">Cloison démarre…\n`;

/**
 * Writes the waiting page in `dir` (owned by `owner` when given: the user Chromium runs as).
 * `go(url)` turns it into a redirect to the shell, then writes the mark that has the page load it.
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
  // A mark left by an earlier page would have this one reload at once, again and again.
  rmSync(join(dir, READY_MARK), { force: true });
  write(WAITING);
  return {
    path,
    go: (url) => {
      write(redirectTo(url));
      write(GIF, join(dir, READY_MARK));
    },
  };
}

/** The page that sends the browser on: a meta refresh, and the same by script a second later should it be dropped. */
export function redirectTo(url) {
  const inScript = JSON.stringify(url).replace(/</g, '\\u003c');
  return `<!doctype html><meta http-equiv="refresh" content="0;url=${url}"><title>Cloison</title><script>setTimeout(() => location.replace(${inScript}), 1000)</script>\n`;
}
