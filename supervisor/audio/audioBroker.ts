/**
 * Sound per level: which levels play (measured), which are muted and how loud (the shell's
 * controls only), and who has the microphone — at most one level, only one the policy names, off
 * until the user gives it, and taken back before another may have it. Giving and taking back are
 * journaled with who did it. The view the band draws comes from here.
 */
import { EventEmitter } from 'node:events';
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { PolicyReader } from '../policy/policyReader';
import type { AudioView } from '../../shared/rpc';
import type { CageSoundPaths } from '../cages/cageSound';
import type { HostSound, HostSoundState } from './hostSound';
import { SoundRelay } from './soundRelay';

export interface AudioBrokerOptions {
  policy: PolicyReader<'audio' | 'levels'>;
  host: HostSound;
  record: (kind: string, actor: 'user' | 'supervisor', fields: Record<string, string | number | boolean>) => void;
}

export class AudioBroker extends EventEmitter<{ change: [AudioView] }> {
  private readonly relays = new Map<string, SoundRelay>();
  private readonly settings = new Map<string, { muted: boolean; volume: number }>();
  private microphone: string | null = null;
  private hostState: HostSoundState = { state: 'none', reason: 'not checked yet', reasonText: { fr: 'pas encore vérifié', en: 'not checked yet' } };

  constructor(private readonly options: AudioBrokerOptions) {
    super();
  }

  async start(): Promise<void> {
    this.hostState = await this.options.host.check();
    this.changed();
  }

  /** A cage with its own sound server is running: relay it. */
  attach(level: string, paths: CageSoundPaths): void {
    this.detach(level);
    const relay = new SoundRelay(level, paths, this.options.host, () => this.hostState.state === 'connected');
    Object.assign(relay, this.setting(level));
    relay.on('change', () => this.changed());
    this.relays.set(level, relay);
    if (this.microphone === level) relay.startRecording();
    this.changed();
  }

  detach(level: string): void {
    const relay = this.relays.get(level);
    if (!relay) return;
    relay.close();
    this.relays.delete(level);
    this.changed();
  }

  set(level: string, change: { muted?: boolean; volume?: number }): AudioView {
    const setting = { ...this.setting(level), ...change };
    this.settings.set(level, setting);
    const relay = this.relays.get(level);
    if (relay) Object.assign(relay, setting);
    this.changed();
    return this.view();
  }

  /** Gives the microphone to a level, or takes it back (null). Another level must release it first. */
  setMicrophone(level: string | null, actor: 'user' | 'supervisor' = 'user'): AudioView {
    if (level === null) {
      if (this.microphone === null) return this.view();
      const from = this.microphone;
      this.microphone = null;
      this.relays.get(from)?.stopRecording();
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
    this.relays.get(level)?.startRecording();
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
        const relay = this.relays.get(level);
        return { level, available: relay !== undefined, playing: relay?.state.playing ?? false, recording: relay?.state.recording ?? false, micAllowed: policy.microphone.includes(level), ...this.setting(level) };
      }),
    };
  }

  close(): void {
    for (const level of [...this.relays.keys()]) this.detach(level);
  }

  private setting(level: string): { muted: boolean; volume: number } {
    return this.settings.get(level) ?? { muted: false, volume: 100 };
  }

  private changed(): void {
    this.emit('change', this.view());
  }
}
