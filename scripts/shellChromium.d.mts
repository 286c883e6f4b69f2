export function hostShellLocale(env?: NodeJS.ProcessEnv): 'fr' | 'en';
export function hostHasRenderNode(dir?: string): boolean;
/** The on-device model performance class the shell gives Chromium, so it never runs its benchmark. */
export const NO_ON_DEVICE_MODEL_CLASS: number;
/** What the shell's Chromium may resolve: no host name (its pages are on 127.x literals). */
export const SHELL_HOST_RESOLVER_RULES: string;
export function shellChromiumArgs(options: { locale: 'fr' | 'en'; gpu?: boolean }): string[];
export function shellChromiumPreferences(options: { locale: 'fr' | 'en' }): Record<string, unknown>;
export function writeShellChromiumProfile(profile: string, options: { locale: 'fr' | 'en'; owner?: { uid: number; gid: number } | null }): void;
