/** How a supervisor is started: its policy, its folders, who may reach its sockets, and what is optional. */
import type { Policy } from '../shared/policy';
import type { ForwardTarget } from './audit/journalForwarder';
import type { HostSoundTarget } from './audio/hostSound';
import type { ManagerLink } from './cageManager/managerLink';
import type { KeyboardPolicy } from './keyboard/keyboardLayout';
import type { EarlyPart } from './sandbox/partSpawn';

export interface SupervisorOptions {
  policy: Policy;
  policySource: string;
  policyText: string;
  stateDir: string;
  runDir: string;
  rendererDir: string | null;
  port?: number;
  /** Allowed WebSocket origins besides the browser host's own (Electron's app://cloison). */
  extraOrigins?: string[];
  /** Serve the browser shell (renderer and RPC WebSocket on 127.0.0.1); off for an Electron shell. */
  browserShell?: boolean;
  /** Where journal records are copied (journald, syslog); none by default. */
  forwardJournal?: ForwardTarget;
  /** Group allowed on the shell's RPC socket (0660): the kiosk user's; without one, root's only. */
  shellGroup?: number;
  /** Group allowed on the admin socket (0660); without one it is root's only (0600). */
  adminGroup?: number;
  /**
   * The keyboard layout of the display the shell opened on, as npm start read it there as the
   * shell's user (--display-keyboard): the host's layout when the policy names none, before
   * /etc/default/keyboard (keyboard/keyboardLayout.ts). Never a cage's.
   */
  displayKeyboard?: KeyboardPolicy;
  /** The workstation's user, whose password unlocks (else the policy's session.user, else the kiosk unit's). */
  shellUser?: string;
  /** A training session (the policy must say `training: allowed`): the scenario, the trainee, where the report goes. */
  training?: { scenarioFile: string; trainee: string; reportDir: string };
  /** The host's sound server and the account the relay reaches it as; none: the cages' sound is discarded. */
  hostSound?: HostSoundTarget | null;
  /** How often sysfs is rescanned for USB devices (udev events also trigger a rescan). */
  deviceScanMs?: number;
  /** Warm the gateway's hot path this long after start-up (gatewayWarmUp.ts); none by default. */
  gatewayWarmUp?: { rounds: number; afterMs: number };
  /**
   * Set when this supervisor is the unprivileged `cloison` part: every act that needs root is a
   * request to the cage manager (cageManager/managerLink.ts). Absent: the root supervisor.
   */
  manager?: ManagerLink;
  /** The browser part's process spawned before this supervisor was built, with these options' settings (browserPart/browserPartSpawn.ts): its first start takes it. */
  browserPartEarly?: EarlyPart;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}
