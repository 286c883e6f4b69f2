/**
 * A cage's own sound server: PulseAudio inside its sandbox, with no hardware and nothing of the
 * host's sound server in sight (a client of the host's could list and record others). Its only
 * sink writes into a FIFO; its only source (where the policy allows the level a microphone) is fed
 * from another, by a pacat of the cage's own that plays the FIFO into a null sink whose monitor is
 * that source (PulseAudio's pipe source insists on making its FIFO itself, where the cage could
 * replace it). Both FIFOs are made by the supervisor in a folder of root's, bound read-only into
 * the cage, so the cage can neither replace them nor make others. Apps find the cage's server
 * by PULSE_SERVER, a socket in the cage's own /tmp: the other cage cannot see it. The sink keeps
 * time by the clock (not by how fast the relay reads): a cage's sound plays at its own pace.
 * A second after its last stream ends (or pauses) the sink is suspended and writes nothing, so a
 * level that plays nothing costs the relay nothing; the next stream resumes it at once. A cage that
 * keeps a stream open writing silence keeps it awake, at the cost of any stream (the relay's budget).
 */
/** Seconds a sink or source stays open with nothing using it: gaps between sounds do not suspend it. */
const SUSPEND_AFTER_S = 1;
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from '../system/binaries';
import { makeFifo } from '../system/makeFifo';

/** Where the supervisor's folder appears inside the cage. */
export const CAGE_SOUND_DIR = '/run/cloison-audio';
export const CAGE_PULSE_SOCKET = '/tmp/pulse/native';
/** The one format on both FIFOs: what the relay reads and writes. */
export const SOUND_FORMAT = { rate: 44100, playbackChannels: 2, micChannels: 1 } as const;

export interface CageSoundPaths {
  dir: string;
  out: string;
  mic: string | null;
}

/** Makes the FIFOs and the server's script in `dir` (root's, 0755); null when PulseAudio is absent. */
export function prepareCageSound(dir: string, uid: number, micAllowed: boolean): CageSoundPaths | null {
  if (!findBinary('pulseaudio')) return null;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const fifo = (name: string) => {
    const path = join(dir, name);
    // No process (system/makeFifo.ts): this runs on the manager's loop as it starts the cages.
    makeFifo(path, 0o660);
    chownSync(path, 0, uid); // the cage's user opens it through its group; the folder stays root's
    return path;
  };
  const paths = { dir, out: fifo('out.fifo'), mic: micAllowed ? fifo('mic.fifo') : null };
  const { rate, playbackChannels, micChannels } = SOUND_FORMAT;
  const script = [
    `load-module module-pipe-sink file=${CAGE_SOUND_DIR}/out.fifo sink_name=cloison format=s16le rate=${rate} channels=${playbackChannels} use_system_clock_for_timing=yes`,
    ...(paths.mic
      ? [
          `load-module module-null-sink sink_name=cloison_mic_feed rate=${rate} channels=${micChannels} sink_properties=device.description=microphone-feed`,
          'load-module module-remap-source master=cloison_mic_feed.monitor source_name=cloison_mic source_properties=device.description=microphone',
        ]
      : []),
    `load-module module-native-protocol-unix socket=${CAGE_PULSE_SOCKET} auth-anonymous=1`,
    `load-module module-suspend-on-idle timeout=${SUSPEND_AFTER_S}`,
    'set-default-sink cloison',
    ...(paths.mic ? ['set-default-source cloison_mic'] : []),
  ];
  writeFileSync(join(dir, 'cage.pa'), `${script.join('\n')}\n`, { mode: 0o444 });
  return paths;
}

/** The session script's lines that start the server before the apps (run as the cage's user). */
export function cageSoundSession(): string {
  return `# The cage's own sound server (its sink and source are the supervisor's FIFOs)
if [ -r ${CAGE_SOUND_DIR}/cage.pa ] && command -v pulseaudio >/dev/null; then
  mkdir -p /tmp/pulse
  # LD_BIND_NOW set: pulseaudio would otherwise execute itself again to get it (one start fewer).
  XDG_RUNTIME_DIR=/tmp/pulse LD_BIND_NOW=1 pulseaudio -n -F ${CAGE_SOUND_DIR}/cage.pa --exit-idle-time=-1 --daemonize=no --use-pid-file=no --disable-shm=yes --realtime=no --high-priority=no --log-target=file:"$HOME/.cloison-pulse.log" &
  export PULSE_SERVER=unix:${CAGE_PULSE_SOCKET}
  i=0; while [ ! -S ${CAGE_PULSE_SOCKET} ] && [ "$i" -lt 40 ]; do i=$((i + 1)); sleep 0.05; done
  if [ -p ${CAGE_SOUND_DIR}/mic.fifo ]; then
    # The microphone's way in: what the supervisor writes (silence, or the host's microphone).
    (pacat --playback --raw --format=s16le --rate=${SOUND_FORMAT.rate} --channels=${SOUND_FORMAT.micChannels} --latency-msec=40 -d cloison_mic_feed --stream-name=microphone < ${CAGE_SOUND_DIR}/mic.fifo 2>>"$HOME/.cloison-pulse.log") &
  fi
fi
`;
}
