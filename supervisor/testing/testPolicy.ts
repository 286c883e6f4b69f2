/**
 * Test helper: the two-level policy (low green, high red) most tests use, with each level's cage
 * given as a YAML flow mapping, and any extra top-level sections appended.
 */
export const LOW_COLOUR = '#1b7f3b';
export const HIGH_COLOUR = '#b3261e';

export function twoLevelPolicy(cages: { low: string; high: string }, extra = ''): string {
  return `version: 1
levels:
  - id: low
    rank: 0
    label: { fr: Bas, en: Low }
    colour: "${LOW_COLOUR}"
    cage: ${cages.low}
  - id: high
    rank: 1
    label: { fr: Haut, en: High }
    colour: "${HIGH_COLOUR}"
    cage: ${cages.high}
${extra}`;
}

/**
 * A bwrap cage with no network, as a flow mapping. `limits` is the body of its limits mapping: by
 * default a small home, since homes are allocated whole on the test machine's disk.
 */
export function bwrapCage(options: { uid?: number; geometry?: string; apps?: string; limits?: string } = {}): string {
  const fields = ['driver: bwrap', 'network: none', `geometry: ${options.geometry ?? '640x480'}`, `apps: ${options.apps ?? '[]'}`, `limits: { ${options.limits ?? TEST_HOME_LIMIT} }`];
  if (options.uid !== undefined) fields.push(`uid: ${options.uid}`);
  return `{ ${fields.join(', ')} }`;
}

export function vncCage(socket: string): string {
  return `{ driver: vnc, endpoint: { socket: ${socket} } }`;
}

/** A bwrap cage whose terminal covers its screen, under a fixed uid (tests that reach into it). */
export function xtermCage(uid: number): string {
  return bwrapCage({ uid, geometry: '1024x640', apps: '[[xterm, -geometry, 120x40+0+0]]' });
}

/** A test cage's home: homes are allocated whole, and many tests run at once on one disk. */
export const TEST_HOME_LIMIT = 'homeBytes: 256MiB';

/** Limits for test cages: small, so a test that fills one fills it fast and its home costs little disk. */
export const TEST_CAGE_LIMITS = { memoryBytes: 1024 * 2 ** 20, tasks: 512, cpuWeight: 100, homeBytes: 256 * 2 ** 20, tmpfsBytes: 64 * 2 ** 20 };
