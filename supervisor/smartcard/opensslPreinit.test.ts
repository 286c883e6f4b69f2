/**
 * The OpenSSL pre-initialisation preloaded into a level's card proxy (opensslPreinit.ts): the
 * library the build makes is mapped in pkcs11proxyd and the card signs through it; a library at
 * that path that someone other than root could have written — another owner, writable by its
 * group or by others, in a folder another uid owns — is never loaded (its constructor would leave a
 * mark), the proxy starts without it, says why, and the card still signs. The same library, root's,
 * leaves its mark: the mark is how a load shows.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { withHighCardProxy } from '../testing/highCardProxy';
import { type SoftToken } from '../testing/softToken';

/** The build's own command for the library (scripts/buildOpensslPreinit.mjs): its flags, its mode. */
const build = (source: string, output: string, defines: string[] = []) => execFileSync(process.execPath, ['scripts/buildOpensslPreinit.mjs', source, output, ...defines], { stdio: 'pipe' });
const missing = missingForCardTest('OpenSSL pre-initialisation tests', { cages: false, programs: ['gcc'] });

const PROXY_UID = 51_500 + (process.pid % 100);
/** An uid that is neither root nor the proxy's: the owner of the libraries and folders refused. */
const OTHER_UID = 51_600 + (process.pid % 100);

/** A library whose constructor creates `mark` (made by the proxy's uid): it shows whether it was loaded. */
const MARKER_SOURCE = `#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void leave_mark(void) { int fd = open(MARK, O_WRONLY | O_CREAT, 0644); if (fd >= 0) close(fd); }
`;

describe('the card proxy\'s OpenSSL pre-initialisation', skipWhenMissing(missing), () => {
  let root: string;
  let token: SoftToken;
  let marks: string;
  let doc: string;

  /** A proxy for high preloading `library`: whether its controller mapped it, what it logged, and a signature through it. */
  const serve = async (name: string, library: string | null) => {
    const logged: string[] = [];
    const log = (msg: string, fields?: Record<string, unknown>) => void logged.push(`${msg} ${JSON.stringify(fields ?? {})}`);
    return withHighCardProxy(join(root, `card-${name}`), token, PROXY_UID, { log, opensslPreinit: library }, async (proxy) => ({ mapped: proxy.mapped, logged, signed: await proxy.sign(doc, join(root, `sig-${name}`)) }));
  };

  /** The marker library built at `dir/name` (root's, 0755), leaving `marks/name` when loaded. */
  const markerLibrary = (dir: string, name: string) => {
    const source = join(root, `${name}.c`);
    writeFileSync(source, MARKER_SOURCE);
    const library = join(dir, `${name}.so`);
    build(source, library, [`MARK="${join(marks, name)}"`]);
    return { library, mark: join(marks, name) };
  };

  beforeAll(() => {
    ({ root, token } = cardTestRoot('cloison-ospi-', PROXY_UID));
    // The proxy's uid may write its marks here, nowhere else.
    marks = join(root, 'marks');
    mkdirSync(marks, { mode: 0o700 });
    chownSync(marks, PROXY_UID, PROXY_UID);
    doc = join(root, 'doc');
    writeFileSync(doc, 'document\n');
  }, 60_000);

  it('the library the build makes is mapped in the proxy, and the card signs through it', async () => {
    const libs = join(root, 'built');
    mkdirSync(libs, { mode: 0o755 });
    const library = join(libs, 'opensslPreinit.so');
    build('supervisor/smartcard/native/opensslPreinit.c', library);
    const served = await serve('built', library);
    expect(served.mapped).toContain(library);
    expect(served.signed).toBe(256);
  }, 60_000);

  it('a root-only library at that path is loaded: its mark is left', async () => {
    const libs = join(root, 'trusted');
    mkdirSync(libs, { mode: 0o755 });
    const { library, mark } = markerLibrary(libs, 'trusted');
    const served = await serve('trusted', library);
    expect(existsSync(mark)).toBe(true);
    expect(served.mapped).toContain(library);
  }, 60_000);

  const refused: { name: string; tamper: (library: string, dir: string) => void; reason: RegExp }[] = [
    { name: 'owned', tamper: (library) => chownSync(library, OTHER_UID, OTHER_UID), reason: new RegExp(`belongs to uid ${OTHER_UID}, not root`) },
    { name: 'groupwritable', tamper: (library) => chmodSync(library, 0o775), reason: /writable by its group/ },
    { name: 'worldwritable', tamper: (library) => chmodSync(library, 0o757), reason: /writable by others/ },
    { name: 'link', tamper: (library) => {
      renameSync(library, `${library}.real`);
      chownSync(`${library}.real`, OTHER_UID, OTHER_UID);
      symlinkSync(`${library}.real`, library);
    }, reason: new RegExp(`link\\.so\\.real belongs to uid ${OTHER_UID}`) },
    { name: 'folder', tamper: (_library, dir) => chownSync(dir, OTHER_UID, OTHER_UID), reason: new RegExp(`attack-folder belongs to uid ${OTHER_UID}`) },
  ];
  for (const { name, tamper, reason } of refused) {
    it(`a library someone else could have written (${name}) is never loaded: the proxy starts without it, says why, and signs`, async () => {
      const dir = join(root, `attack-${name}`);
      mkdirSync(dir, { mode: 0o755 });
      const { library, mark } = markerLibrary(dir, name);
      tamper(library, dir);
      const served = await serve(name, library);
      expect(existsSync(mark)).toBe(false);
      expect(served.mapped).not.toContain(dir);
      expect(served.logged.join('\n')).toMatch(reason);
      expect(served.signed).toBe(256);
    }, 60_000);
  }

  it('no library built: the proxy starts as without it, and says so once', async () => {
    const absent = join(root, 'absent', 'opensslPreinit.so');
    const first = await serve('absent1', absent);
    const second = await serve('absent2', absent);
    expect(first.signed).toBe(256);
    expect(second.signed).toBe(256);
    const said = [...first.logged, ...second.logged].filter((line) => line.includes('OpenSSL pre-initialisation'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('not built');
  }, 60_000);
});
