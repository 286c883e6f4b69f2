/**
 * Attack (attack-8): subordinate id grants the product reads differently from newuidmap. ownUids.ts
 * skips the uids /etc/subuid and /etc/subgid grant, reading each line as `name:<decimal>:<decimal>`
 * and nothing else — but newuidmap/newgidmap (shadow, setuid root) read them otherwise:
 *  - shadow's getulong() is strtoul(…, 0): a start or count written in hex (0x…) or octal (0…) is
 *    honoured, as are leading blanks and a '+' (lib/getulong.c: "decimal, hexadecimal or octal");
 *    the product skips a hex line as malformed and reads an octal one as a decimal number;
 *  - subordinate_parse() splits the first three ':' fields and ignores what follows the third (a
 *    line `name:start:count:anything`); the product skips such a line;
 *  - a `subid:` line in /etc/nsswitch.conf naming a source other than files (shadow's lib/nss.c:
 *    `subid: sss`, FreeIPA's central subid ranges) makes newuidmap ask that source and never read
 *    /etc/subuid; the product reads /etc/subuid alone, finds nothing, and gives any uid.
 * A holder of such a grant over the file scanner's (or the converter's, the X helper's) own uids maps
 * one into a user namespace of hers and signals the run (ownUidsSubuid.attack.test.ts's hole, back
 * through the file's form or the name service). newuidmap is not installed here: the grants are
 * the ones its parser honours, each over the whole scanner range, so a run that still gets a uid
 * got one the holder may map.
 *
 * What the administrator should see: the scanner's run refused, naming the grant (or the source
 * that cannot be listed).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NoOwnUidLeft, ownUids, SCANNER_UIDS } from './ownUids';
import { readSubordinateIdsFrom } from './subordinateIds';
import { findBinary } from './binaries';
import { removeTestRoots, testRoot } from '../testing/testRoots';

const { base, size } = SCANNER_UIDS;

/** What a scanner run gets with `line` as the only grant: its uid, or the refusal. */
function scannerRunWith(line: string): string {
  const folder = testRoot('cloison-sif-');
  const subuid = join(folder, 'subuid');
  writeFileSync(subuid, `${line}\n`, { mode: 0o644 });
  readSubordinateIdsFrom([subuid, subuid]);
  try {
    return `uid ${ownUids(SCANNER_UIDS)()}`;
  } catch (err) {
    if (err instanceof NoOwnUidLeft) return `refused: ${err.message}`;
    throw err;
  }
}

afterEach(() => readSubordinateIdsFrom(null));
afterAll(() => removeTestRoots());

describe("subordinate grants over the scanner's own uids, in the forms newuidmap honours", () => {
  const forms: Array<[string, string]> = [
    ['decimal (the control)', `alice:${base}:${size}`],
    ['hexadecimal', `alice:0x${base.toString(16)}:0x${size.toString(16)}`],
    ['octal', `alice:0${base.toString(8)}:0${size.toString(8)}`],
    ['a blank and a plus sign', `alice: ${base}:+${size}`],
    ['a fourth field', `alice:${base}:${size}:podman`],
  ];
  for (const [form, line] of forms) {
    it(`refuses the run when a grant written in ${form} holds the range`, () => {
      const got = scannerRunWith(line);
      console.log(`${form} (${line}): ${got}`);
      expect(got).toMatch(/^refused: no uid of its own is left for the file scanner's sandbox/);
      expect(got).toContain(line);
    });
  }
});

const ready = process.getuid?.() === 0 && ['unshare', 'mount'].every((b) => findBinary(b));

describe.skipIf(!ready)('subordinate ids from a name service source (nsswitch.conf subid:)', () => {
  it("refuses the scanner's run: the grants cannot be listed, so no uid is known to be free", () => {
    const folder = testRoot('cloison-sin-');
    chmodSync(folder, 0o755);
    const nsswitch = join(folder, 'nsswitch.conf');
    writeFileSync(nsswitch, 'passwd: files\ngroup: files\nsubid: sss\n', { mode: 0o644 });
    const empty = join(folder, 'subuid');
    writeFileSync(empty, '', { mode: 0o644 });
    const script = join(folder, 'check.mts');
    writeFileSync(
      script,
      `import { NoOwnUidLeft, ownUids, SCANNER_UIDS } from ${JSON.stringify(join(process.cwd(), 'supervisor/system/ownUids.ts'))};
let got;
try { got = 'uid ' + ownUids(SCANNER_UIDS)(); } catch (err) { if (!(err instanceof NoOwnUidLeft)) throw err; got = 'refused: ' + err.message; }
process.stdout.write(JSON.stringify({ got }));
`,
    );
    const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
    // The host's /etc/subuid and /etc/subgid: empty ones, so only the name service could grant.
    const run = spawnSync('unshare', ['-m', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount --bind "$1" /etc/nsswitch.conf && for f in /etc/subuid /etc/subgid; do [ -e "$f" ] && mount --bind "$2" "$f"; done; exec "$3" "$4"', 'sh', nsswitch, empty, tsx, script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const { got } = JSON.parse(run.stdout) as { got: string };
    console.log(`subid: sss in nsswitch.conf: ${got}`);
    expect(got).toMatch(/^refused: .*subid: sss/);
  }, 60_000);
});

/**
 * A grants file that exists but cannot be looked at (a symlink loop here; EACCES or EIO alike): the
 * stat's failure was read as "no file", which grants nothing, so every uid was given — while
 * newuidmap, which reads the file as root through whatever it is, may honour its grants. Only a
 * file that is not there grants nothing; one that cannot be read is unknown and holds every uid.
 */
describe('a grants file that cannot be looked at', () => {
  it("refuses the scanner's run, saying the file cannot be read", () => {
    const folder = testRoot('cloison-sil-');
    const loop = join(folder, 'subuid');
    symlinkSync(join(folder, 'subuid-b'), loop);
    symlinkSync(loop, join(folder, 'subuid-b'));
    readSubordinateIdsFrom([loop]);
    let got: string;
    try {
      got = `uid ${ownUids(SCANNER_UIDS)()}`;
    } catch (err) {
      if (!(err instanceof NoOwnUidLeft)) throw err;
      got = `refused: ${err.message}`;
    }
    console.log(`a subuid file in a symlink loop: ${got}`);
    expect(got).toMatch(/^refused: .*unreadable/);
  });
});
