/**
 * The messages between the root part and the browser part over the browser part's channel
 * (sandbox/partChannel.ts).
 *
 * From the browser part: untrusted. It accepts browser connections, so a bug there is an
 * attacker's foothold; every message is parsed against a closed schema (`.strict()`: no field the
 * root part would ignore), with bounded sizes, before the root part acts on it. A message that
 * does not parse is dropped and counted. What such a message can obtain is what a browser can:
 * an RPC session only for a launch secret or resume token the root part issued, a cage's VNC
 * connection only for a ticket the root part issued to an admitted session.
 *
 * To the browser part: the root part's own, typed here and not re-checked there.
 *
 * Types only (and the start's variable name): the part's bundle carries no zod; the schema the
 * root part parses with is partMessageSchema.ts.
 */
import type { SakKey } from '../../shared/keysyms';
import type { GatewayAdmission, ViewerInfo } from '../gateway/vncGateway';

/** What the browser part may send, parsed on the root part's side (partMessageSchema.ts). */
export type PartToRoot =
  | { type: 'listening'; port: number; viewerPorts: Record<string, number> }
  | { type: 'rpc.admit'; request: number; launch?: string | undefined; resume?: string | undefined }
  | { type: 'rpc.opened'; conn: number }
  | { type: 'rpc.frame'; conn: number; text: string }
  | { type: 'rpc.closed'; conn: number }
  | { type: 'vnc.open'; request: number; level: string; ticket: string }
  | { type: 'viewers'; viewers: ViewerInfo[] }
  | { type: 'keys'; level: string; total: number }
  /** It could not start (before it listens): why. */
  | { type: 'failed'; error: string };

/**
 * What the browser part needs before it listens, none of it the policy's: it reads it from its
 * environment (PART_START_ENV), as JSON, and may be spawned before the policy is known
 * (browserPartSpawn.ts); the rest comes first on its channel (`listen`).
 */
export const PART_START_ENV = 'CLOISON_BROWSER_PART';
export interface PartStart {
  /** The built renderer's folder (read whole before the drop), or null. */
  rendererDir: string | null;
  shell: boolean;
  extraOrigins: string[];
  /** Who the part becomes (null: it already runs as an unprivileged user and stays that). */
  account: { uid: number; gid: number } | null;
  /** Its own folder (owned by that account): it works there, and writes nowhere else. */
  partDir: string;
  /** shared/rpc.ts's MAX_RPC_FRAME_BYTES, from the root part (shared/rpc.ts carries zod). */
  maxRpcFrameBytes: number;
  warmUp: { rounds: number; afterMs: number } | null;
}

/** The root part's first message on every start's channel: then the part listens. */
export interface ListenMessage {
  type: 'listen';
  levels: string[];
  /** The front level now. */
  front: string;
  sak: SakKey;
  /** 0 for any; at a restart, the ports the shells know. */
  port: number;
  viewerPorts: Record<string, number>;
}

export type RootToPart =
  | ListenMessage
  | { type: 'rpc.admitted'; request: number; conn: number | null }
  | { type: 'rpc.out'; conn: number; text: string }
  | { type: 'rpc.close'; conn: number; code: number; reason: string }
  /** With the cage's socket handle when `admission` has `handle: true`. */
  | { type: 'vnc.opened'; request: number; admission: VncOpened }
  | { type: 'focus'; front: string; suspended: boolean }
  | { type: 'sak'; sak: SakKey }
  | { type: 'viewers.disconnect'; reason: string };

/** A gateway admission as it crosses the channel: the handle travels beside the message. */
export type VncOpened = Exclude<GatewayAdmission, { handle: object }> | { session: string; handle: true };
