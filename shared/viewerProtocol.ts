/**
 * The messages between the trusted page and a cage's viewer frame. The viewer runs in a frame of
 * its own origin (one per level: its own renderer process under site isolation) and holds nothing
 * but its own cage's ticket: no RPC, no other cage. The trusted page keeps the keyboard and the
 * pointer — a cage's frame never has focus, so the secure-attention key and the shortcuts are seen
 * by trusted code first — and hands the front viewer only the input it may pass on. The viewer
 * tells the page its connection state and its bells, which the page treats as untrusted.
 */
import { z } from 'zod';

const modifiers = { ctrl: z.boolean(), alt: z.boolean(), shift: z.boolean(), meta: z.boolean() };

export const shellToViewerSchema = z.discriminatedUnion('type', [
  /** Connect to the gateway with this one-time ticket URL (ws://…/vnc?level=…&ticket=…). */
  z.object({ type: z.literal('open'), url: z.string().max(2048) }).strict(),
  /** Whether the viewer may pass input on at all (the cage is in front and nothing trusted is up). */
  z.object({ type: z.literal('input'), enabled: z.boolean() }).strict(),
  /** Where the viewer is shown: in front, beside the front one (split view), or not at all; its decoding budget follows. */
  z.object({ type: z.literal('place'), place: z.enum(['front', 'beside', 'hidden']) }).strict(),
  /** Are you still there? A viewer whose renderer crashed or hangs never answers (viewerWatch.ts). */
  z.object({ type: z.literal('ping') }).strict(),
  z
    .object({
      type: z.literal('key'),
      event: z.enum(['keydown', 'keyup']),
      key: z.string().max(32),
      code: z.string().max(32),
      keyCode: z.number().int().min(0).max(255),
      location: z.number().int().min(0).max(3),
      repeat: z.boolean(),
      ...modifiers,
    })
    .strict(),
  z
    .object({
      type: z.literal('pointer'),
      event: z.enum(['mousedown', 'mouseup', 'mousemove']),
      /** Relative to the viewer frame's top-left corner, in CSS pixels. */
      x: z.number(),
      y: z.number(),
      button: z.number().int().min(0).max(4),
      buttons: z.number().int().min(0).max(31),
      ...modifiers,
    })
    .strict(),
  z.object({ type: z.literal('wheel'), x: z.number(), y: z.number(), deltaX: z.number(), deltaY: z.number(), deltaMode: z.number().int().min(0).max(2) }).strict(),
]);
export type ShellToViewer = z.infer<typeof shellToViewerSchema>;
export type ViewerPlace = Extract<ShellToViewer, { type: 'place' }>['place'];

export const viewerToShellSchema = z.discriminatedUnion('type', [
  /** The viewer page has loaded and listens: only now may it be handed a ticket. */
  z.object({ type: z.literal('ready') }).strict(),
  z.object({ type: z.literal('state'), state: z.enum(['connecting', 'connected', 'unreachable']) }).strict(),
  z.object({ type: z.literal('bell') }).strict(),
  /** The answer to a ping: this viewer's page still runs. */
  z.object({ type: z.literal('pong') }).strict(),
]);
export type ViewerToShell = z.infer<typeof viewerToShellSchema>;

export { electronViewerOrigin, VIEWER_PAGE } from './viewerPages';
