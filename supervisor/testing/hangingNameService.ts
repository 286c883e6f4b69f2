/**
 * Test helper: a name service whose directory hangs — a real NSS module (`passwd: files
 * cloisonhang`, its libnss_cloisonhang.so.2 built here with gcc, found through LD_LIBRARY_PATH as
 * glibc's dlopen finds any) that sleeps a minute on every look-up past the local files, as an LDAP
 * server that takes the connection and never answers. A script runs under it with tsx in a mount
 * namespace of its own, where that nsswitch.conf is bound over the host's (nothing of the host's
 * changes): nameServiceNamespace, which a test also gives a name service of its own (a source
 * unavailable). timedScript writes the script that measures, while it asks, how long its process
 * ran nothing else (eventLoopGaps.ts).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from '../system/binaries';

const HANG_MODULE = `#include <nss.h>
#include <pwd.h>
#include <grp.h>
#include <unistd.h>
enum nss_status _nss_cloisonhang_getpwuid_r(uid_t u, struct passwd *p, char *b, size_t n, int *e) { (void)u; (void)p; (void)b; (void)n; (void)e; sleep(60); return NSS_STATUS_NOTFOUND; }
enum nss_status _nss_cloisonhang_getgrgid_r(gid_t g, struct group *r, char *b, size_t n, int *e) { (void)g; (void)r; (void)b; (void)n; (void)e; sleep(60); return NSS_STATUS_NOTFOUND; }
`;

/** What the helper needs that a host may lack. */
export const hangingNameServiceMissing = (): string[] => ['unshare', 'mount', 'gcc'].filter((b) => !findBinary(b));

/** How a script runs in a mount namespace of its own where `nsswitch` (the file's text) is bound over /etc/nsswitch.conf: tsx runs it, with `env` added to ours. */
export function nameServiceNamespace(root: string, nsswitch: string, env: NodeJS.ProcessEnv = {}): { run(script: string): SpawnSyncReturns<string> } {
  const file = join(root, 'nsswitch.conf');
  writeFileSync(file, nsswitch, { mode: 0o644 });
  const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
  return {
    run: (script) =>
      spawnSync('unshare', ['-m', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount --bind "$1" /etc/nsswitch.conf && exec "$2" "$3"', 'sh', file, tsx, script], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, ...env },
      }),
  };
}

/** Builds the module in `root` (made 0755: the module is loaded from there) and returns how to run a script under it; throws when gcc fails. */
export function hangingNameService(root: string): { run(script: string): SpawnSyncReturns<string> } {
  chmodSync(root, 0o755);
  const built = spawnSync('gcc', ['-shared', '-fPIC', '-x', 'c', '-', '-o', join(root, 'libnss_cloisonhang.so.2')], { input: HANG_MODULE, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`the hanging NSS module was not built: ${built.stderr}`);
  return nameServiceNamespace(root, 'passwd: files cloisonhang\ngroup: files cloisonhang\nshadow: files\n', { LD_LIBRARY_PATH: root });
}

/** A module of this checkout, as a script's import names it. */
export const checkoutModule = (file: string): string => JSON.stringify(join(process.cwd(), file));

/**
 * A script (an ES module: `body` may await; `imports` stand at its top) that runs `body` — which
 * ends with `return { … }` — 300 ms after a gap watch starts (eventLoopGaps.ts), then prints what
 * it returned as JSON, with `longestGap`: the longest time, in ms, the process ran nothing else.
 */
export function timedScript(imports: string, body: string): string {
  return `import { watchEventLoopGaps } from ${checkoutModule('supervisor/testing/eventLoopGaps.ts')};
${imports}
const gaps = watchEventLoopGaps();
await new Promise((r) => setTimeout(r, 300));
const result = await (async () => {
${body}
})();
await new Promise((r) => setTimeout(r, 300));
process.stdout.write(JSON.stringify({ ...result, longestGap: gaps.stop() }));
`;
}
