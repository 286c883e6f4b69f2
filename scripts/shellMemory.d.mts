export const SHELL_TRIM_AFTER_MS: number;
export interface GroupMemory {
  /** Bytes of page cache charged to the group. */
  file: number;
  /** Of which mapped by a process. */
  mappedFile: number;
  /** Anonymous memory. */
  anon: number;
}
export interface TrimReport {
  before: GroupMemory;
  after: GroupMemory;
  ms: number;
}
export interface ShellMemoryGroup {
  readonly version: 1 | 2;
  readonly dir: string;
  wrap(argv: string[]): string[];
  memory(): GroupMemory;
  trim(): Promise<TrimReport>;
  trimLater(say: (msg: string) => void, env?: NodeJS.ProcessEnv): void;
}
export function ownGroupPath(controller: string, procCgroup?: string): string;
export function groupOwnershipProblem(dir: string): string | null;
export function groupMemory(version: 1 | 2, dir: string): GroupMemory;
export function openShellMemoryGroup(options?: { root?: string; procCgroup?: string; name?: string }): { group: ShellMemoryGroup; reason?: undefined } | { group: null; reason: string };
export function shellTrimWanted(env?: NodeJS.ProcessEnv): boolean;
