/**
 * Test tool: what managerPartRequester.ts (a `cloison` part the real cage manager starts) and
 * managerMain.test.ts agree on: the levels' uids, the apps the test policy names, and how the part
 * reports (a marked line on its stderr, which the manager prints prefixed with the part's name).
 */
export const MANAGER_PART_PLAN = {
  low: { uid: 58806, app: { id: 'sleeper', exec: ['sleep', '58806'] } },
  high: { uid: 58807, app: { id: 'other', exec: ['sleep', '58807'] } },
} as const;

/** The start of each report line on the part's stderr. */
export const PART_REPORT_MARK = 'report ';
