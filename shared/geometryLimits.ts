/**
 * The screen sizes a cage may have, in a module of its own: the viewer reads it without loading
 * the policy's schemas (zod) into every viewer frame.
 */

/** Xvnc refuses framebuffers above 16384 pixels a side; we stay well below. */
export const MAX_GEOMETRY_SIDE = 8192;
