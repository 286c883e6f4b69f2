export const LAUNCH_RECHECK_SECONDS: number;
export function createLaunchPage(dir: string, owner?: { uid: number; gid: number } | null): { path: string; go(url: string): void };
export const GO_SCRIPT: string;
export function goTo(url: string): string;
export function redirectTo(url: string): string;
