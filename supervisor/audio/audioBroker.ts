/**
 * Sound per level: which levels play (measured), which are muted and how loud (the shell's
 * controls only), and who has the microphone — at most one level, only one the policy names, off
 * until the user gives it, and taken back before another may have it. Giving and taking back are
 * journaled with who did it. The view the band draws comes from here. The bytes themselves are
 * relayed by the sound part, unprivileged (soundPart.ts); these decisions reach it as messages, and
 * a stream a level may not use (muted, no microphone given) is stopped on the root side.
 */
import { EventEmitter } from 'node:events';
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { PolicyReader } from '../policy/policyReader';
import type { AudioView } from '../../shared/rpc';
import type { CageSoundPaths } from '../cages/cageSound';
import type { HostSound, HostSoundState } from './hostSound';
import type { RemoteSoundEnds } from './remoteSoundEnds';
import { SoundPart } from './soundPart';

export interface AudioBrokerOptions {
  policy: PolicyReader<'audio' | 'levels'>;
  host: HostSound;
  record: (kind: string, actor: 'user' | 'supervisor', fields: Record<string, string | number | boolean>) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /**
   * The supervisor is the `cloison` part: the cage manager opens the FIFOs and runs the host's
   * programs (cageManager/managerSoundEnds.ts, cageManager/audioThroughManager.ts). The host's server is then taken as
   * reached until the manager answers that there is none (this part cannot run pactl as the user).
   */
  remote?: RemoteSoundEnds;
}

export class AudioBroker extends EventEmitter<{ change: [AudioView] }> {
  /** The unprivileged relay of every level's sound, and the root side of its streams. */
  readonly part: SoundPart;
  private readonly settings = new Map<string, { muted: boolean; volume: number }>();
  private microphone: string | null = null;
  private hostState: HostSoundState = { state: 'none', reason: 'not checked yet', reasonText: { fr: 'pas encore vérifié', en: 'not checked yet' } };

  constructor(private readonly options: AudioBrokerOptions) {
    super();
    this.part = new SoundPart({
      host: options.host,
      onRestart: (reason) => options.record('soundPart.restart', 'supervisor', { reason }),
      ...(options.log ? { log: options.log } : {}),
      ...(options.remote ? { remote: options.remote, onHostMissing: (reason: string) => this.hostMissing(reason) } : {}),
    });
    this.part.on('change', () => this.changed());
  }

  async start(): Promise<void> {
    this.hostState = this.options.remote ? { state: 'connected' } : await this.options.host.check();
    this.part.setHostUsable(this.hostState.state === 'connected');
    await this.part.start();
    this.changed();
  }

  /** A cage with its own sound server is running: relay it. */
  attach(level: string, paths: CageSoundPaths): void {
    this.part.attach(level, paths, this.setting(level));
    if (this.microphone === level) this.part.startRecording(level);
  }

  detach(level: string): void {
    this.part.detach(level);
  }

  set(level: string, change: { muted?: boolean; volume?: number }): AudioView {
    const setting = { ...this.setting(level), ...change };
    this.settings.set(level, setting);
    this.part.settings(level, setting);
    this.changed();
    return this.view();
  }

  /** Gives the microphone to a level, or takes it back (null). Another level must release it first. */
  setMicrophone(level: string | null, actor: 'user' | 'supervisor' = 'user'): AudioView {
    if (level === null) {
      if (this.microphone === null) return this.view();
      const from = this.microphone;
      this.microphone = null;
      this.part.stopRecording(from);
      this.options.record('audio.microphone', actor, { level: from, action: 'release' });
      this.changed();
      return this.view();
    }
    if (!this.options.policy.current().audio.microphone.includes(level)) throw new CloisonError('POLICY_DENIED', bilingual(`la politique ne donne pas le microphone au niveau « ${level} »`, `the policy does not let level "${level}" have the microphone`));
    if (this.microphone === level) return this.view();
    if (this.microphone !== null) throw new CloisonError('WRONG_STATE', bilingual(`le microphone est au niveau « ${this.microphone} » : libérez-le d’abord`, `the microphone is with level "${this.microphone}": release it first`));
    if (this.hostState.state !== 'connected') throw new CloisonError('WRONG_STATE', bilingual(`pas de microphone : ${this.hostState.reasonText.fr}`, `no microphone: ${this.hostState.reason}`));
    this.options.record('audio.microphone', actor, { level, action: 'assign' });
    this.microphone = level;
    this.part.startRecording(level);
    this.changed();
    return this.view();
  }

  view(): AudioView {
    const policy = this.options.policy.current().audio;
    return {
      enabled: policy.enabled,
      host: this.hostState.state === 'connected' ? { state: 'connected', reason: null } : { state: this.hostState.state, reason: this.hostState.reason, reasonText: this.hostState.reasonText },
      microphone: this.microphone,
      levels: this.options.policy.current().levels.map(({ id: level }) => {
        const { playing, recording } = this.part.state(level);
        return { level, available: this.part.relayed(level), playing, recording, micAllowed: policy.microphone.includes(level), ...this.setting(level) };
      }),
    };
  }

  close(): Promise<void> {
    return this.part.stop();
  }

  private setting(level: string): { muted: boolean; volume: number } {
    return this.settings.get(level) ?? { muted: false, volume: 100 };
  }

  private hostMissing(reason: string): void {
    this.options.log?.('the cage manager has no host sound server', { reason });
    this.hostState = { state: 'none', reason: 'no sound server on this machine: the cages\' sound is discarded', reasonText: bilingual('aucun serveur de son sur ce poste : le son des cages est perdu', 'no sound server on this machine: the cages\' sound is discarded') };
    this.part.setHostUsable(false);
    this.changed();
  }

  private changed(): void {
    this.emit('change', this.view());
  }
}
