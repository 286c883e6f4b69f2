/**
 * How a browser-host shell proves it is the one that was launched. A launch secret is single use
 * and short-lived: the first connection that presents it gets a shell session, and with it a resume
 * token, also single use, replaced at every reconnection. A reload of the same page presents its
 * resume token (kept in that tab's sessionStorage) and is the same shell again; anything else —
 * a copied URL, a second tab, a process that read an old secret — gets nothing.
 *
 * A resume token presented while its session is still connected takes the session over and the
 * old connection is closed: a page reload does exactly that, and a thief who did it would leave the
 * real shell disconnected, which the user sees.
 *
 * Resume tokens outlive the supervisor when it has a state folder (resumeTokens.ts keeps their
 * hashes in a root-only file): a shell reconnects to the next supervisor after a crash, a restart
 * or an upgrade without a new launch. A token lives while its shell is connected and `resumeTtlMs`
 * after it disconnected (or after the supervisor that held it ended).
 */
import { randomBytes } from 'node:crypto';
import { tokenHash, type ResumeEntry, type ResumeTokenFile } from '../session/resumeTokens';

export interface ShellLaunchesOptions {
  /** How long an unused launch secret stays valid. */
  launchTtlMs?: number;
  /** How long a resume token stays valid once its shell has disconnected. */
  resumeTtlMs?: number;
  /** Where resume tokens are kept across supervisor restarts (none: in memory only). */
  store?: ResumeTokenFile;
  now?: () => number;
}

export interface Admission {
  session: string;
  /** The token the shell presents next time (a reload); the one it used is spent. */
  resume: string;
}

const MAX_PENDING_LAUNCHES = 8;

export class ShellLaunches {
  private readonly launches = new Map<string, number>();
  /** Token hash → its session: a lookup by exact key, and nothing in memory or on disk is the token itself. */
  private readonly resumes = new Map<string, ResumeEntry>();
  private readonly live = new Map<string, () => void>();
  private readonly ttl: number;
  private readonly resumeTtl: number;
  private readonly now: () => number;
  private readonly store: ResumeTokenFile | undefined;

  constructor(options: ShellLaunchesOptions = {}) {
    this.ttl = options.launchTtlMs ?? 120_000;
    this.resumeTtl = options.resumeTtlMs ?? 12 * 3600_000;
    this.now = options.now ?? Date.now;
    this.store = options.store;
    // The shells of the supervisor before this one were connected until it ended: their time starts now.
    for (const [hash, entry] of this.store?.load() ?? []) this.resumes.set(hash, { session: entry.session, expires: entry.expires ?? this.now() + this.resumeTtl });
    this.sweep();
  }

  /** A new launch secret, for one shell to come. */
  issue(): string {
    this.sweep();
    while (this.launches.size >= MAX_PENDING_LAUNCHES) this.launches.delete(this.launches.keys().next().value!);
    const secret = randomBytes(24).toString('base64url');
    this.launches.set(secret, this.now() + this.ttl);
    return secret;
  }

  /** Spends a launch secret: a new session, or null (unknown, used, expired). */
  launch(secret: string): Admission | null {
    this.sweep();
    const expires = this.launches.get(secret);
    this.launches.delete(secret);
    if (expires === undefined) return null;
    return this.admit(randomBytes(12).toString('base64url'));
  }

  /** Spends a resume token: the same session, or null. Its live connection, if any, is closed. */
  resume(token: string): Admission | null {
    this.sweep();
    const hash = tokenHash(token);
    const session = this.resumes.get(hash)?.session;
    this.resumes.delete(hash);
    if (session === undefined) return null;
    this.live.get(session)?.();
    this.live.delete(session);
    return this.admit(session);
  }

  /** The session's connection: closed if its resume token is used elsewhere. */
  connected(session: string, close: () => void): () => void {
    this.live.set(session, close);
    return () => {
      if (this.live.get(session) !== close) return;
      this.live.delete(session);
      // Disconnected: its token now counts down.
      for (const entry of this.resumes.values()) if (entry.session === session) entry.expires = this.now() + this.resumeTtl;
      this.save();
    };
  }

  private admit(session: string): Admission {
    for (const [hash, entry] of this.resumes) if (entry.session === session) this.resumes.delete(hash);
    const resume = randomBytes(24).toString('base64url');
    this.resumes.set(tokenHash(resume), { session, expires: null });
    this.save();
    return { session, resume };
  }

  private sweep(): void {
    const now = this.now();
    for (const [secret, expires] of this.launches) if (expires <= now) this.launches.delete(secret);
    for (const [hash, entry] of this.resumes) if (entry.expires !== null && entry.expires <= now) this.resumes.delete(hash);
  }

  private save(): void {
    this.store?.save(this.resumes);
  }
}
