/**
 * Test tool: a person with a real OpenPGP key pair in a gpg home of their own — a recipient of the
 * encrypting diode who can decrypt what it sends, or someone who cannot. `close()` stops the gpg
 * agent their key needed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OpenPgpPerson {
  home: string;
  /** The public key, armored, in a file root owns (0644): what a policy names. */
  publicKey: string;
  fingerprint: string;
  gpg(args: string[]): string;
  close(): void;
}

/** `encrypt: false` makes a signing-only key (no encryption subkey). */
export function openPgpPerson(root: string, name: string, options: { encrypt?: boolean } = {}): OpenPgpPerson {
  const home = join(root, `gpg-${name}`);
  mkdirSync(home, { mode: 0o700 });
  const gpg = (args: string[]) => execFileSync('gpg', ['--batch', '--no-tty', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  gpg(['--quick-gen-key', `${name} <${name.toLowerCase()}@example.org>`, 'ed25519', 'sign,cert', 'never']);
  const fingerprint = gpg(['--with-colons', '--list-keys']).split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
  if (options.encrypt !== false) gpg(['--quick-add-key', fingerprint, 'cv25519', 'encr', 'never']);
  const publicKey = join(root, `${name}.asc`);
  writeFileSync(publicKey, gpg(['--armor', '--export', fingerprint]), { mode: 0o644 });
  return { home, publicKey, fingerprint, gpg, close: () => execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']) };
}
