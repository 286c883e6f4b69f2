/**
 * The host's sound server, reached the way any program of the workstation user's reaches it: the
 * relay's `pacat` (playback, one named stream per level) and `parec` (the microphone) run as that
 * user, with that user's server address, never as root and never inside a cage. Where the host has
 * no sound server, the cages keep theirs and their sound is discarded; the band says so.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { findBinary, requireBinary } from '../system/binaries';
import { refuseDescriptorsOnStdio } from '../system/refusePassedDescriptors';
import { SOUND_FORMAT } from '../cages/cageSound';
import { bilingual, type Bilingual } from '../../shared/bilingual';

const run = promisify(execFile);

export interface HostSoundTarget {
  /** A PulseAudio server address (unix:/run/user/1000/pulse/native; PipeWire's pipewire-pulse too). */
  server: string;
  /** The account the relay runs as (the shell's user); 0 only for a server that admits anyone. */
  uid: number;
  gid: number;
  home: string;
}

export type HostSoundState = { state: 'connected' } | { state: 'none' | 'failed'; reason: string; reasonText: Bilingual };

const failed = (state: 'none' | 'failed', fr: string, en: string): HostSoundState => ({ state, reason: en, reasonText: bilingual(fr, en) });

export class HostSound {
  constructor(readonly target: HostSoundTarget | null) {}

  /** Whether the relay can reach the host's server now. */
  async check(): Promise<HostSoundState> {
    if (!this.target) return failed('none', 'aucun serveur de son sur ce poste : le son des cages est perdu', 'no sound server on this machine: the cages\' sound is discarded');
    if (!findBinary('pactl')) return failed('failed', 'pactl introuvable : installez pulseaudio-utils', 'pactl not found: install pulseaudio-utils');
    try {
      const argv = [...this.asUser(), requireBinary('pactl'), 'info'];
      await run(argv[0]!, argv.slice(1), { env: this.env(), timeout: 5000 });
      return { state: 'connected' };
    } catch (err) {
      const why = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n')[0];
      return failed('failed', `le serveur de son du poste ne répond pas (${this.target.server}) : ${why}`, `the host's sound server does not answer (${this.target.server}): ${why}`);
    }
  }

  /**
   * A playback stream named after the level, fed raw PCM on its standard input; its standard error
   * reports what it has played and what the server holds, every 50 ms (see PlaybackDelay).
   */
  playback(streamName: string): ChildProcess {
    const { rate, playbackChannels } = SOUND_FORMAT;
    return this.spawn(['pacat', '--playback', '--verbose', '--raw', '--format=s16le', `--rate=${rate}`, `--channels=${playbackChannels}`, '--latency-msec=40', `--stream-name=${streamName}`, '--client-name=Cloison'], 'pipe');
  }

  /** The default microphone, as raw PCM on standard output. */
  capture(streamName: string): ChildProcess {
    const { rate, micChannels } = SOUND_FORMAT;
    return this.spawn(['parec', '--raw', '--format=s16le', `--rate=${rate}`, `--channels=${micChannels}`, '--latency-msec=40', `--stream-name=${streamName}`, '--client-name=Cloison']);
  }

  private spawn(argv: string[], stderr: 'pipe' | 'ignore' = 'ignore'): ChildProcess {
    const [cmd, ...args] = [...this.asUser(), requireBinary(argv[0]!), ...argv.slice(1)];
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', stderr], env: this.env() });
    // The workstation user's other processes may reach these (ptrace, pidfd_getfd): root's ends refuse descriptors.
    refuseDescriptorsOnStdio(child);
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    return child;
  }

  /** setpriv to the workstation user, or nothing when that user is root. */
  private asUser(): string[] {
    const t = this.target!;
    if (t.uid === 0) return [];
    return [requireBinary('setpriv'), `--reuid=${t.uid}`, `--regid=${t.gid}`, '--init-groups', '--inh-caps=-all', '--'];
  }

  private env(): NodeJS.ProcessEnv {
    const t = this.target!;
    return { PATH: '/usr/bin:/bin', HOME: t.home, PULSE_SERVER: t.server, LANG: 'C' };
  }
}
