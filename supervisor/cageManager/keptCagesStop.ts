/**
 * Whether the cage manager's stop leaves its cages running (--keep-cages-on-stop, as the root
 * supervisor's main.ts): only SIGTERM, the service manager's stop for a restart or an upgrade,
 * after which the next manager's `cage.start` adopts each cage that checks out
 * (cageStartExecutor.ts). SIGINT (Ctrl+C, the package's removal) always ends them.
 */
export function keepsCages(signal: string, keepCagesOnStop: boolean): boolean {
  return keepCagesOnStop && signal === 'SIGTERM';
}
