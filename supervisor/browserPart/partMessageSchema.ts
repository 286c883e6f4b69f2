/**
 * The schema every message from the browser part is parsed against on the root part's side
 * (partMessages.ts says why): closed (`.strict()`: no field the root part would ignore), with
 * bounded sizes. Root-side only: the part's bundle carries no zod.
 */
import { z } from 'zod';
import { LEVEL_ID } from '../../shared/policy';
import { MAX_RPC_FRAME_BYTES } from '../../shared/rpc';
import type { PartToRoot } from './partMessages';

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

// The part's side is typed by hand (partMessages.ts): the two must agree.
const agrees: z.infer<typeof partToRootSchema> extends PartToRoot ? (PartToRoot extends z.infer<typeof partToRootSchema> ? true : false) : false = true;
void agrees;
