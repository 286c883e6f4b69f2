// The page the shell's Chromium opens at once, while the supervisor starts: a file only the shell's
// user can read, which looks at itself again and again and, once the supervisor listens, sends the
// browser on to the shell's single-use address — which thus never appears on a command line.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchownSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** How often the waiting page looks again, in seconds: every start waits half of it on average. */
export const LAUNCH_RECHECK_SECONDS = 0.2;

// A meta refresh Chromium dropped (once seen in a loaded CI run: the page stayed on "Cloison démarre…"
// for 20 s after the redirect was written) leaves the script's slower reload to look again.
const RELOAD_FALLBACK = `<script>setInterval(() => location.reload(), 1000)</script>`;

const WAITING = `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="${LAUNCH_RECHECK_SECONDS}"><title>Cloison</title>${RELOAD_FALLBACK}<body style="background:#222;color:#ddd;font:20px sans-serif;display:grid;place-items:center;height:100vh;margin:0">Cloison démarre…\n`;

/**
 * Writes the waiting page in `dir` (owned by `owner` when given: the user Chromium runs as).
 * `go(url)` turns it into a redirect to the shell.
 */
export function createLaunchPage(dir, owner = null) {
  const path = join(dir, 'launch.html');
  const write = (html) => {
    // Whole or not at all: Chromium may read it at any moment. The folder is the user's and npm
    // start may be root: a new name made here (O_EXCL, O_NOFOLLOW: never a link or a file someone
    // put there) and owned through its descriptor, so nothing the user plants is written or chowned.
    const next = join(dir, `launch.${randomBytes(8).toString('hex')}.next`);
    const fd = openSync(next, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, html);
      if (owner) fchownSync(fd, owner.uid, owner.gid);
    } finally {
      closeSync(fd);
    }
    renameSync(next, path);
  };
  write(WAITING);
  return { path, go: (url) => write(redirectTo(url)) };
}

/** The page that sends the browser on: a meta refresh, and the same by script a second later should it be dropped. */
export function redirectTo(url) {
  const inScript = JSON.stringify(url).replace(/</g, '\\u003c');
  return `<!doctype html><meta http-equiv="refresh" content="0;url=${url}"><title>Cloison</title><script>setTimeout(() => location.replace(${inScript}), 1000)</script>\n`;
}
