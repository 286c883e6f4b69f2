/**
 * The browser part as the supervisor builds it from its options: the root part's decisions it
 * answers with (shells' admission and sessions, tickets, the lock, each cage's checked socket).
 */
import type { SakKey } from '../../shared/keysyms';
import type { AuditJournal } from '../audit/auditJournal';
import type { RunningCage } from '../cages/cageDriver';
import type { FocusState } from '../gateway/focusState';
import type { TicketRegistry } from '../gateway/ticketRegistry';
import type { ViewerInfo } from '../gateway/vncGateway';
import { BrowserPart, type BrowserPartOptions } from './browserPart';
import { viewerAdmission } from './viewerAdmission';
import type { EarlyPart } from '../sandbox/partSpawn';

/** What of the supervisor's options the browser part takes (SupervisorOptions has them all). */
export interface BrowserPartSettings {
  policy: { levels: ReadonlyArray<{ id: string }> };
  rendererDir: string | null;
  browserShell?: boolean;
  port?: number;
  extraOrigins?: string[];
  gatewayWarmUp?: { rounds: number; afterMs: number };
  runDir: string;
  browserPartEarly?: EarlyPart;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface BrowserPartDecisions {
  focus: FocusState;
  sak: () => SakKey;
  shells: BrowserPartOptions['shells'];
  tickets: TicketRegistry;
  /** Why no viewer may connect now, or null. */
  refusal: () => string | null;
  cageOf: (level: string) => RunningCage | null;
  journal: AuditJournal;
  onViewers: (viewers: ViewerInfo[]) => void;
}

export function wireBrowserPart(options: BrowserPartSettings, d: BrowserPartDecisions): BrowserPart {
  const log = options.log ? { log: options.log } : {};
  return new BrowserPart({
    rendererDir: options.rendererDir,
    shell: options.browserShell ?? false,
    levels: options.policy.levels.map((l) => l.id),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.extraOrigins ? { extraOrigins: options.extraOrigins } : {}),
    ...(options.gatewayWarmUp ? { warmUp: options.gatewayWarmUp } : {}),
    runDir: options.runDir,
    ...(options.browserPartEarly ? { early: options.browserPartEarly } : {}),
    focus: d.focus,
    sak: d.sak,
    shells: { ...d.shells, ...log },
    admitViewer: viewerAdmission({ tickets: d.tickets, refusal: d.refusal, cageOf: d.cageOf, journal: d.journal, ...log }),
    journal: d.journal,
    onViewers: d.onViewers,
    ...log,
  });
}
