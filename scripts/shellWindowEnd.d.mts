export const SHELL_TAIL_LINES: number;
export const TAIL_WAIT_MS: number;
export function outputTail(streams: Array<NodeJS.ReadableStream | null | undefined>, keep?: number): { lines(): string[]; settled(ms?: number): Promise<unknown> };
export function shellWindowEndMessage(o: { code: number | null; signal: string | null; lines: string[] | null; reachedShell: boolean; locale: string; host?: string }): string;
