/**
 * The OpenSSL pre-initialisation preloaded into a level's card proxy (opensslPreinit.ts): the
 * library the build makes is mapped in pkcs11proxyd and the card signs through it; a library at
 * that path that someone other than root could have written — another owner, writable by its
 * group or by others, in a folder another uid owns — is never loaded (its constructor would leave a
 * mark), the proxy starts without it, says why, and the card still signs. The same library, root's,
 * leaves its mark: the mark is how a load shows.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { SOFTHSM_MODULE, TOKEN_PIN, type SoftToken } from '../testing/softToken';
import { CARD_CLIENT_MODULE } from './cageCardEndpoint';
import { CARD_ALIAS } from './cardFilterConfig';
import { SmartcardBroker } from './smartcardBroker';

const run = promisify(execFile);
/** The build's own command for the library (scripts/buildOpensslPreinit.mjs): its flags, its mode. */
const build = (source: string, output: string, defines: string[] = []) => execFileSync(process.execPath, ['scripts/buildOpensslPreinit.mjs', source, output, ...defines], { stdio: 'pipe' });
const missing = missingForCardTest('OpenSSL pre-initialisation tests', { cages: false, programs: ['gcc'] });

const PROXY_UID = 62_600 + (process.pid % 100);
/** An uid that is neither root nor the proxy's: the owner of the libraries and folders refused. */
const OTHER_UID = 62_700 + (process.pid % 100);

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
    const policy = smartcardPolicySchema.parse({ module: SOFTHSM_MODULE, levels: { high: { objects: ['high-sign'], uid: PROXY_UID } }, environment: { SOFTHSM2_CONF: token.conf } });
    const broker = new SmartcardBroker({ policy: { current: () => ({ smartcard: policy }) }, dir: join(root, `card-${name}`), cageGid: () => 0, record: () => {}, log: (msg, fields) => logged.push(`${msg} ${JSON.stringify(fields ?? {})}`), opensslPreinit: library });
    try {
      broker.endpoint('high');
      await broker.start();
      const socket = join(root, `card-${name}`, 'high', 'socket', 'pkcs11.sock');
      const controller = execFileSync('pgrep', ['-o', '-f', `pkcs11proxyd -fg -conf ${join(root, `card-${name}`)}`], { encoding: 'utf8' }).trim();
      const mapped = readFileSync(`/proc/${controller}/maps`, 'utf8');
      const signature = join(root, `sig-${name}`);
      // Not a synchronous run: the guard relaying it runs in this process.
      await run('pkcs11-tool', ['--module', CARD_CLIENT_MODULE, '--login', '--pin', TOKEN_PIN, '--sign', '-m', 'SHA256-RSA-PKCS', '--id', '01', '-i', doc, '-o', signature], { env: { PATH: '/usr/bin:/bin', PKCS11PROXY_SOCKET_PATH: socket, PKCS11PROXY_LIBNAME: CARD_ALIAS } });
      return { mapped, logged, signed: readFileSync(signature).length };
    } finally {
      await broker.close();
    }
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
