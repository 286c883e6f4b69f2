/**
 * Test helper: a name service whose directory hangs — a real NSS module (`passwd: files
 * cloisonhang`, its libnss_cloisonhang.so.2 built here with gcc, found through LD_LIBRARY_PATH as
 * glibc's dlopen finds any) that sleeps a minute on every look-up past the local files, as an LDAP
 * server that takes the connection and never answers. A script runs under it with tsx in a mount
 * namespace of its own, where that nsswitch.conf is bound over the host's (nothing of the host's
 * changes).
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

/** Builds the module in `root` (made 0755: the module is loaded from there) and returns how to run a script under it; throws when gcc fails. */
export function hangingNameService(root: string): { run(script: string): SpawnSyncReturns<string> } {
  chmodSync(root, 0o755);
  const built = spawnSync('gcc', ['-shared', '-fPIC', '-x', 'c', '-', '-o', join(root, 'libnss_cloisonhang.so.2')], { input: HANG_MODULE, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`the hanging NSS module was not built: ${built.stderr}`);
  const nsswitch = join(root, 'nsswitch.conf');
  writeFileSync(nsswitch, 'passwd: files cloisonhang\ngroup: files cloisonhang\nshadow: files\n', { mode: 0o644 });
  const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
  return {
    run: (script) =>
      spawnSync('unshare', ['-m', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount --bind "$1" /etc/nsswitch.conf && exec "$2" "$3"', 'sh', nsswitch, tsx, script], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, LD_LIBRARY_PATH: root },
      }),
  };
}
