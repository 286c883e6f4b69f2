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
 */
import { randomBytes } from 'node:crypto';

export interface ShellLaunchesOptions {
  /** How long an unused launch secret stays valid. */
  launchTtlMs?: number;
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
  private readonly resumes = new Map<string, string>();
  private readonly live = new Map<string, () => void>();
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(options: ShellLaunchesOptions = {}) {
    this.ttl = options.launchTtlMs ?? 120_000;
    this.now = options.now ?? Date.now;
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
    const session = this.resumes.get(token);
    this.resumes.delete(token);
    if (session === undefined) return null;
    this.live.get(session)?.();
    this.live.delete(session);
    return this.admit(session);
  }

  /** The session's connection: closed if its resume token is used elsewhere. */
  connected(session: string, close: () => void): () => void {
    this.live.set(session, close);
    return () => {
      if (this.live.get(session) === close) this.live.delete(session);
    };
  }

  private admit(session: string): Admission {
    for (const [token, owner] of this.resumes) if (owner === session) this.resumes.delete(token);
    const resume = randomBytes(24).toString('base64url');
    this.resumes.set(resume, session);
    return { session, resume };
  }

  private sweep(): void {
    const now = this.now();
    for (const [secret, expires] of this.launches) if (expires <= now) this.launches.delete(secret);
  }
}
