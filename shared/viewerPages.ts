/**
 * The viewer page's names, with no schema (viewerProtocol.ts has the messages): the browser part
 * serves by them and carries no zod.
 */

/** Electron: each level's viewer under an app:// host of its own (a site of its own). */
export function electronViewerOrigin(level: string): string {
  return `app://viewer-${level}`;
}

export const VIEWER_PAGE = 'viewer.html';
