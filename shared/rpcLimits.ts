/**
 * The RPC's wire limit, apart from its schemas (rpc.ts, which re-exports it): what spawns the
 * browser part needs it before any zod is evaluated (browserPartSpawn.ts, the cloison part's entry).
 */

/** Wire frames, one JSON object per message. */
export const MAX_RPC_FRAME_BYTES = 64 * 1024;
