/**
 * The encrypting diode (CLIP OS's "noircir"): a staged file leaves its level only encrypted to the
 * rule's recipients and signed with the source level's own key, as an OpenPGP message made by
 * Debian's gpg. Nothing in clear is ever written where a cage can see it: the plaintext stays in
 * the supervisor's staging area, the ciphertext is made there too, and only it is committed.
 *
 * Each level's signing key (Ed25519, made at first use, no passphrase: it never leaves the
 * supervisor's state folder, 0700) lives in `<state>/diode/gnupg`; its public half is exported to
 * `<state>/diode/<level>.asc` for the recipients to verify what they receive.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from '../system/binaries';
import { readRecipientKey, type RecipientKey } from '../policy/recipientKeys';

const run = promisify(execFile);

export interface Encrypted {
  file: string;
  size: number;
  sha256: string;
}

export class EncryptingDiode {
  private readonly home: string;
  private readonly signers = new Map<string, Promise<string>>();

  constructor(
    private readonly dir: string,
    /** Names this workstation in the signing keys' user ids. */
    private readonly station: string,
  ) {
    this.home = join(dir, 'gnupg');
  }

  /** The recipients of a rule, read afresh (a key file changed since the policy loaded is checked again). */
  recipients(files: readonly string[]): RecipientKey[] {
    return files.map(readRecipientKey);
  }

  /** Encrypts `plain` to every recipient, signed with `level`'s key, into `out` (in the staging area). */
  async encrypt(level: string, plain: string, out: string, recipients: readonly RecipientKey[]): Promise<Encrypted> {
    const signer = await this.signerOf(level);
    await this.gpg(['--trust-model', 'always', '--local-user', signer, '--sign', '--encrypt', ...recipients.flatMap((r) => ['--recipient-file', r.file]), '--output', out, plain]);
    const size = statSync(out).size;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(out)) hash.update(chunk as Buffer);
    return { file: out, size, sha256: hash.digest('hex') };
  }

  /** The fingerprint of a level's signing key, made once. */
  signerOf(level: string): Promise<string> {
    let signer = this.signers.get(level);
    if (!signer) {
      signer = this.ensureSigner(level);
      this.signers.set(level, signer);
      signer.catch(() => this.signers.delete(level));
    }
    return signer;
  }

  /** Stops the gpg agent the signing keys needed (the supervisor is stopping). */
  async close(): Promise<void> {
    if (!existsSync(this.home)) return;
    await run(requireBinary('gpgconf'), ['--homedir', this.home, '--kill', 'gpg-agent']).catch(() => undefined);
  }

  private async ensureSigner(level: string): Promise<string> {
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    const uid = `Cloison ${level} (${this.station}) <cloison-${level}@${this.station}.invalid>`;
    let fingerprint = await this.fingerprintOf(uid);
    if (!fingerprint) {
      await this.gpg(['--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
      fingerprint = await this.fingerprintOf(uid);
      if (!fingerprint) throw new Error(`gpg made no signing key for level "${level}"`);
      const { stdout } = await this.gpg(['--armor', '--export', fingerprint]);
      writeFileSync(join(this.dir, `${level}.asc`), stdout, { mode: 0o644 });
    }
    return fingerprint;
  }

  private async fingerprintOf(uid: string): Promise<string | null> {
    const listing = await this.gpg(['--with-colons', '--list-secret-keys', `=${uid}`]).catch(() => null);
    return listing?.stdout.split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9] ?? null;
  }

  private gpg(args: string[]): Promise<{ stdout: string }> {
    return run(requireBinary('gpg'), ['--batch', '--no-tty', '--homedir', this.home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { timeout: 10 * 60_000, maxBuffer: 4 * 1024 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' } }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`gpg failed: ${(err.stderr ?? err.message).trim().split('\n').pop()}`);
    });
  }
}
