export function hostShellLocale(env?: NodeJS.ProcessEnv): 'fr' | 'en';
export function hostHasRenderNode(dir?: string): boolean;
/** The on-device model performance class the shell gives Chromium, so it never runs its benchmark. */
export const NO_ON_DEVICE_MODEL_CLASS: number;
/** The proxy the shell's Chromium sends all but loopback to: port 0, where nothing listens. */
export const SHELL_PROXY_SERVER: string;
export function shellChromiumArgs(options: { locale: 'fr' | 'en'; gpu?: boolean }): string[];
export function shellChromiumPreferences(options: { locale: 'fr' | 'en' }): Record<string, unknown>;
export function writeShellChromiumProfile(profile: string, options: { locale: 'fr' | 'en'; owner?: { uid: number; gid: number } | null }): void;
