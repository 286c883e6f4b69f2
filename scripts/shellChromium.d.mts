export function hostShellLocale(env?: NodeJS.ProcessEnv): 'fr' | 'en';
export function hostHasRenderNode(dir?: string): boolean;
export function shellChromiumArgs(options: { locale: 'fr' | 'en'; gpu?: boolean }): string[];
export function shellChromiumPreferences(options: { locale: 'fr' | 'en' }): Record<string, unknown>;
export function writeShellChromiumProfile(profile: string, options: { locale: 'fr' | 'en'; owner?: { uid: number; gid: number } | null }): void;
