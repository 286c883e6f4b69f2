export const XKB_NAME: RegExp;
export interface DisplayKeyboard {
  layout: string;
  variant: string;
}
export interface ShellScreen {
  width: number;
  height: number;
  windowManager: boolean;
}
export function parseSetxkbmapQuery(text: string | null | undefined): DisplayKeyboard | null;
export function displayKeyboardArgument(keyboard: DisplayKeyboard): string;
export function parseRootGeometry(text: string | null | undefined): { width: number; height: number } | null;
export function parseWindowManagerCheck(text: string | null | undefined): boolean;
export function shellWindowArgs(options: { kiosk: boolean; screen: ShellScreen | null }): string[];
export function readShellDisplay(options: {
  env: NodeJS.ProcessEnv;
  user?: { uid: number; gid: number } | null;
  run?: (program: string, args: string[], options: { env: NodeJS.ProcessEnv; user: { uid: number; gid: number } | null }) => string | null;
}): { screen: ShellScreen | null; keyboard: DisplayKeyboard | null };
