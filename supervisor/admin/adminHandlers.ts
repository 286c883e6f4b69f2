/**
 * What the admin socket answers: status in counts and states (never content), the running policy,
 * a reload, a lock (never an unlock) and the trainer's requests.
 */
import { createHash } from 'node:crypto';
import type { TunnelView } from '../../shared/rpc';
import type { FileAuditJournal } from '../audit/auditJournal';
import type { CageLifecycle } from '../cages/cageLifecycle';
import type { ReloadOutcome } from '../policy/policyReloader';
import type { RunningPolicy } from '../policy/runningPolicy';
import type { SessionLock } from '../session/sessionLock';
import type { ManagerLink } from '../cageManager/managerLink';
import { partReloadRefused } from './partReloadRefused';
import { trainingAdminHandlers } from './trainingAdmin';
import type { TrainingDesk } from '../training/trainingDesk';
import type { DeviceBroker } from '../usb/deviceBroker';
import type { AdminHandlers, AdminStatus } from './adminServer';

export interface AdminHandlerDeps {
  policy: RunningPolicy;
  /** When this supervisor started (ISO 8601). */
  since: string;
  cages: ReadonlyMap<string, CageLifecycle>;
  devices: DeviceBroker;
  lock: SessionLock;
  tunnels: () => TunnelView[];
  journal: FileAuditJournal;
  training: TrainingDesk;
  reload: () => Promise<ReloadOutcome>;
  /** The cage manager, when this supervisor is the `cloison` part: a reload is then refused here (partReloadRefused.ts). */
  manager?: ManagerLink;
}

export function adminHandlers(deps: AdminHandlerDeps): AdminHandlers {
  // Split, the manager reloads only at its SIGHUP (the administrator's moment): the part's socket refuses.
  const reload = deps.manager ? partReloadRefused(deps.journal) : deps.reload;
  const sha256 = () => createHash('sha256').update(deps.policy.text).digest('hex');
  return {
    status: (): AdminStatus => {
      const devices: AdminStatus['devices'] = {};
      for (const d of deps.devices.list()) devices[d.state] = (devices[d.state] ?? 0) + 1;
      return {
        policySource: deps.policy.source,
        policySha256: sha256(),
        since: deps.since,
        cages: [...deps.cages.values()].map((c) => c.state),
        devices,
        locked: deps.lock.locked,
        tunnels: deps.tunnels(),
        journal: { records: deps.journal.records, failures: deps.journal.failures },
      };
    },
    'policy.get': () => ({ source: deps.policy.source, sha256: sha256(), policy: deps.policy.current() }),
    'policy.reload': () => reload(),
    // An administrator may lock a workstation, never unlock it.
    'session.lock': () => {
      deps.lock.lock('admin');
      return { locked: true };
    },
    ...trainingAdminHandlers(deps.training),
  };
}
