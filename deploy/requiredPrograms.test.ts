/**
 * Every program the code runs is installed on a fresh machine: named in the package table
 * (binaries.ts) or, for test and benchmark tools, in the table below; its package is installed by
 * scripts/setup.sh, listed in the .deb's depends when the product needs it, and present here.
 * A fresh clone once failed 11 tests because setup.sh did not install xclip.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEBIAN_PACKAGE_OF, findBinary } from '../supervisor/system/binaries';
import { loadDefaultPolicy } from '../supervisor/policy/policyLoader';

/** Programs only the checkout's launcher (npm start), the tests and the benchmarks run, and the package of each. */
const TEST_PACKAGE_OF: Record<string, string> = {
  id: 'coreutils',
  strace: 'strace',
  unshare: 'util-linux',
  findmnt: 'util-linux',
  nsenter: 'util-linux',
  find: 'findutils',
  'mkfs.vfat': 'dosfstools',
  sha256sum: 'coreutils',
  stdbuf: 'coreutils',
  timeout: 'coreutils',
  sleep: 'coreutils',
  true: 'coreutils',
  rm: 'coreutils',
  ps: 'procps',
  pgrep: 'procps',
  mknod: 'coreutils',
  perl: 'perl-base',
  nm: 'binutils',
  bash: 'bash',
  xinput: 'xinput',
  xdotool: 'xdotool',
  xdpyinfo: 'x11-utils',
  // bench/lib/displayHold.test.ts: whether the benchmark's X server was reset (a root window property)
  xprop: 'x11-utils',
  // bench/startFlakeLoop.ts: the kernel's lines of each start (OOM, seccomp, segfaults)
  dmesg: 'util-linux',
  // supervisor/cages/sessionApps.test.ts: a window mapped while openbox starts, and its map state
  xmessage: 'x11-utils',
  // e2e/stopNotice.spec.ts: an application that asks before closing (unsaved text)
  xedit: 'x11-apps',
  xwininfo: 'x11-utils',
  // supervisor/testing/whereStuck.ts: a stuck program's user-space stacks in a failing test's message
  gdb: 'gdb',
  Xvfb: 'xvfb',
  'xvfb-run': 'xvfb',
  chromium: 'chromium',
  websockify: 'websockify',
  'ansible-playbook': 'ansible-core',
  'systemd-analyze': 'systemd',
  journalctl: 'systemd',
  useradd: 'passwd',
  userdel: 'passwd',
  chpasswd: 'passwd',
  groupadd: 'passwd',
  groupdel: 'passwd',
  usermod: 'passwd',
  'dbus-daemon': 'dbus-daemon',
  tcpdump: 'tcpdump',
  vncviewer: 'tigervnc-viewer',
  sysctl: 'procps',
  qpdf: 'qpdf',
  pdftotext: 'poppler-utils',
  pdffonts: 'poppler-utils',
  npm: 'nodejs',
  npx: 'nodejs',
  'p11-kit': 'p11-kit',
  'pkcs11-tool': 'opensc',
  'softhsm2-util': 'softhsm2',
  python3: 'python3',
  perf: 'linux-perf',
  // the card client module's test: what the loader resolves (supervisor/smartcard/cardClientModule.test.ts)
  ldd: 'libc-bin',
  // the build's compiler: the card proxy's OpenSSL pre-initialisation, the name service look-up (scripts/buildOpensslPreinit.mjs)
  gcc: 'gcc',
  // npm start: an older npm start's ACL entry on a private home removed (scripts/oldPartReach.mjs)
  setfacl: 'acl',
  getfacl: 'acl',
};
/** Always on Debian (Essential: yes), so neither setup.sh nor the package has to name them. */
const ESSENTIAL = new Set(['coreutils', 'util-linux', 'bsdutils', 'dash', 'bash', 'perl-base', 'libc-bin', 'findutils']);
/** The product's own programs: what the supervisor, the session script and the default apps run. */
const PRODUCT_PACKAGES = new Set(Object.values(DEBIAN_PACKAGE_OF));

const SOURCE_DIRS = ['supervisor', 'scripts', 'e2e', 'bench', 'deploy', 'electron'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return /\.(ts|mjs|sh)$/.test(name) ? [path] : [];
  });
}

/** Program names the code starts: literal first arguments of the usual calls, and requireBinary. */
function programsRun(): Map<string, string> {
  const found = new Map<string, string>();
  const call = /\b(?:requireBinary|findBinary|spawn|spawnSync|execFile|execFileSync|run)\('([A-Za-z][\w.+-]*)'/g;
  for (const file of SOURCE_DIRS.flatMap(sources)) {
    if (file.endsWith('requiredPrograms.test.ts')) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(call)) if (!found.has(m[1]!)) found.set(m[1]!, file);
  }
  return found;
}

function setupPackages(): Set<string> {
  const text = readFileSync('scripts/setup.sh', 'utf8');
  const block = /PACKAGES=\(([\s\S]*?)\n\)/.exec(text)?.[1] ?? '';
  return new Set(block.split('\n').flatMap((line) => line.replace(/#.*/, '').trim().split(/\s+/)).filter(Boolean));
}

/**
 * The product's own programs, built from C by npm run build (gcc) into out/supervisor and run by
 * their path, not by name (the scan above cannot see them): each name, its source.
 */
const OWN_PROGRAMS: Record<string, string> = {
  // the cages' and card proxies' uids asked of the name service (supervisor/system/accounts.ts)
  nameServiceIds: 'supervisor/system/native/nameServiceIds.c',
  // the card guard's relay (supervisor/smartcard/cardRecordRelay.ts)
  cardRecordRelay: 'supervisor/smartcard/native/cardRecordRelay.c',
};

const debDepends = (parse(readFileSync('electron-builder.yml', 'utf8')) as { deb: { depends: string[] } }).deb.depends.map((d) => d.split(/\s/)[0]!);

describe('required programs', () => {
  it('every program the code runs has a known package', () => {
    const unknown = [...programsRun()].filter(([name]) => !DEBIAN_PACKAGE_OF[name] && !TEST_PACKAGE_OF[name]).map(([name, file]) => `${name} (${file})`);
    expect(unknown).toEqual([]);
  });

  it('scripts/setup.sh installs the package of every program the product and its tests run', () => {
    const installed = setupPackages();
    const missing = [...new Set([...Object.values(DEBIAN_PACKAGE_OF), ...Object.values(TEST_PACKAGE_OF)])].filter((p) => !ESSENTIAL.has(p) && p !== 'nodejs' && !installed.has(p));
    expect(missing).toEqual([]);
  });

  it("the .deb depends on the package of every program the product runs", () => {
    const missing = [...PRODUCT_PACKAGES].filter((p) => !ESSENTIAL.has(p) && !debDepends.includes(p));
    expect(missing).toEqual([]);
  });

  it("the default policy's applications are in the package table", () => {
    const programs = loadDefaultPolicy().levels.flatMap((l) => (l.cage.driver === 'bwrap' ? l.cage.apps.map((a) => a.exec[0]!) : []));
    expect(programs.filter((p) => !DEBIAN_PACKAGE_OF[p])).toEqual([]);
  });

  it("the product's own programs are built by npm run build, with the compiler setup.sh installs", () => {
    const build = readFileSync('scripts/buildOpensslPreinit.mjs', 'utf8');
    const unbuilt = Object.entries(OWN_PROGRAMS).filter(([name, source]) => !statSync(source).isFile() || !build.includes(`'${source}'`) || !build.includes(`'out/supervisor/${name}'`));
    expect(unbuilt).toEqual([]);
    expect(setupPackages().has('gcc')).toBe(true);
  });

  it('every one of those programs is on this machine', () => {
    const absent = [...Object.keys(DEBIAN_PACKAGE_OF), ...Object.keys(TEST_PACKAGE_OF)].filter((name) => !findBinary(name, `${process.env.PATH}:/usr/sbin:/sbin`));
    expect(absent).toEqual([]);
  });
});
