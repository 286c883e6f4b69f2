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
 */
import { z } from 'zod';
import { LEVEL_ID } from '../../shared/policy';
import { MAX_RPC_FRAME_BYTES } from '../../shared/rpc';
import type { SakKey } from '../../shared/keysyms';
import type { GatewayAdmission } from '../gateway/vncGateway';

const level = z.string().regex(LEVEL_ID);
const request = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const conn = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** Secrets and tickets are base64url of at most 32 bytes: 64 characters is generous. */
const secret = z.string().min(1).max(128);
const MAX_VIEWERS = 64;

export const partToRootSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('listening'), port: z.number().int().min(1).max(65535), viewerPorts: z.record(level, z.number().int().min(1).max(65535)) }).strict(),
  z.object({ type: z.literal('rpc.admit'), request, launch: secret.optional(), resume: secret.optional() }).strict(),
  z.object({ type: z.literal('rpc.opened'), conn }).strict(),
  // The root part's RpcSession checks the frame itself (JSON, the shared contract); here only its size.
  z.object({ type: z.literal('rpc.frame'), conn, text: z.string().max(MAX_RPC_FRAME_BYTES) }).strict(),
  z.object({ type: z.literal('rpc.closed'), conn }).strict(),
  z.object({ type: z.literal('vnc.open'), request, level, ticket: secret }).strict(),
  z.object({ type: z.literal('viewers'), viewers: z.array(z.object({ level, session: z.string().max(64) }).strict()).max(MAX_VIEWERS) }).strict(),
  z.object({ type: z.literal('keys'), level, total: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) }).strict(),
  /** It could not start (before it listens): why. */
  z.object({ type: z.literal('failed'), error: z.string().max(2000) }).strict(),
]);
export type PartToRoot = z.infer<typeof partToRootSchema>;

/** What the browser part needs to start: it reads it from its environment (PART_START_ENV), as JSON. */
export const PART_START_ENV = 'CLOISON_BROWSER_PART';
export interface PartStart {
  /** The built renderer's folder (read whole before the drop), or null. */
  rendererDir: string | null;
  shell: boolean;
  levels: string[];
  /** The front level at start. */
  front: string;
  port: number;
  viewerPorts: Record<string, number>;
  extraOrigins: string[];
  /** Who the part becomes (null: it already runs as an unprivileged user and stays that). */
  account: { uid: number; gid: number } | null;
  /** Its own folder (owned by that account): it works there, and writes nowhere else. */
  partDir: string;
  sak: SakKey;
  warmUp: { rounds: number; afterMs: number } | null;
}

export type RootToPart =
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
