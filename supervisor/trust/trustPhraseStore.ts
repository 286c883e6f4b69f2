/**
 * Keeps the user's trust phrase in the supervisor's state (0600), outside every cage. Only the
 * shell reads it, through the RPC; no cage has a path to this file or to that RPC.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trustSettingSchema, type TrustSetting } from '../../shared/trustPhrase';

export class TrustPhraseStore {
  private current: TrustSetting | null;
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'trust-phrase.json');
    this.current = this.load();
  }

  get(): TrustSetting | null {
    return this.current;
  }

  set(setting: TrustSetting): void {
    const valid = trustSettingSchema.parse(setting);
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(valid) + '\n', { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
    this.current = valid;
  }

  private load(): TrustSetting | null {
    try {
      return trustSettingSchema.parse(JSON.parse(readFileSync(this.file, 'utf8')));
    } catch {
      return null; // none yet, or unreadable: the shell asks the user for one
    }
  }
}
