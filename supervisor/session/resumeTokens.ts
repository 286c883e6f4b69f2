/**
 * The shells' resume tokens on disk, so that a shell reconnects to a supervisor that crashed or
 * was restarted without a new login (shellLaunches.ts keeps them in memory and writes each change
 * here). The file holds no token: only each token's SHA-256, the session it resumes and when it
 * expires — reading the file gives nobody a way in.
 *
 * Trust: root's file (0600, never a link) in root's folder (not writable by group or others). A
 * file of another owner, with other bits, reached through a link, or in a folder someone else can
 * write is ignored with the reason logged: a cage's user or another local user who could plant one
 * would otherwise choose the sessions a token resumes.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { z } from 'zod';

export interface ResumeEntry {
  session: string;
  /** Epoch ms after which the token resumes nothing; null while its shell is connected. */
  expires: number | null;
}

const FORMAT = 1;
const MAX_BYTES = 256 * 1024;
const MAX_ENTRIES = 64;

const fileSchema = z
  .object({
    version: z.literal(FORMAT),
    tokens: z
      .array(z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/), session: z.string().min(1).max(64), expires: z.number().int().nullable() }).strict())
      .max(MAX_ENTRIES),
  })
  .strict();

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class ResumeTokenFile {
  constructor(
    readonly file: string,
    private readonly log?: (msg: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** The tokens a previous supervisor left, by hash; none (and the reason logged) if the file is not root's alone. */
  load(): Map<string, ResumeEntry> {
    const entries = new Map<string, ResumeEntry>();
    const problem = this.problem();
    if (problem === 'absent') return entries;
    if (problem) {
      this.log?.('shell resume tokens ignored', { file: this.file, reason: problem });
      return entries;
    }
    let text: string;
    let fd = -1;
    try {
      fd = openSync(this.file, constants.O_RDONLY | constants.O_NOFOLLOW);
      const st = fstatSync(fd);
      // Checked again on the descriptor read from: the name may have changed since.
      if (!st.isFile() || st.uid !== 0 || (st.mode & 0o077) !== 0 || st.size > MAX_BYTES) throw new Error('not a root-only file');
      text = readFileSync(fd, 'utf8');
    } catch (err) {
      this.log?.('shell resume tokens ignored', { file: this.file, reason: (err as Error).message });
      return entries;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
    try {
      for (const t of fileSchema.parse(JSON.parse(text)).tokens) entries.set(t.hash, { session: t.session, expires: t.expires });
    } catch {
      this.log?.('shell resume tokens ignored', { file: this.file, reason: 'not a resume token file' });
    }
    return entries;
  }

  /** Written whole or not at all, root's and 0600. */
  save(entries: Map<string, ResumeEntry>): void {
    const tokens = [...entries].slice(-MAX_ENTRIES).map(([hash, e]) => ({ hash, session: e.session, expires: e.expires }));
    const next = `${this.file}.new`;
    try {
      writeFileSync(next, JSON.stringify({ version: FORMAT, tokens }), { mode: 0o600 });
      renameSync(next, this.file);
    } catch (err) {
      this.log?.('shell resume tokens not saved: shells will need a new launch after a restart', { error: (err as Error).message });
    }
  }

  private problem(): string | null {
    let st;
    try {
      st = lstatSync(this.file);
    } catch {
      return 'absent';
    }
    if (st.isSymbolicLink()) return 'it is a symbolic link';
    if (!st.isFile()) return 'it is not a file';
    if (st.uid !== 0) return `it belongs to uid ${st.uid}, not root`;
    if ((st.mode & 0o077) !== 0) return `its mode is ${(st.mode & 0o777).toString(8)}, not 600`;
    const dir = lstatSync(dirname(this.file));
    if (dir.uid !== 0 || (dir.mode & 0o022) !== 0) return 'its folder is not root\'s alone';
    return null;
  }
}
