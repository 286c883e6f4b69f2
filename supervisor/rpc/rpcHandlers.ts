/**
 * The supervisor's RPC methods. The only policy decision point: every answer here is derived from
 * the policy and the supervisor's own state, never from what a cage says.
 */
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { PolicyReader } from '../policy/policyReader';
import { levelViews } from '../policy/levelViews';
import type { KeyboardLayoutView } from '../../shared/keyboardLayout';
import type { RpcMethod, StoppingView, TunnelView } from '../../shared/rpc';
import type { AuditJournal } from '../audit/auditJournal';
import type { CageLifecycle } from '../cages/cageLifecycle';
import type { FocusState } from '../gateway/focusState';
import type { TicketRegistry } from '../gateway/ticketRegistry';
import type { TrustPhraseStore } from '../trust/trustPhraseStore';
import type { ClipboardBroker } from '../clipboard/clipboardBroker';
import type { Confirmations } from '../confirm/confirmations';
import type { FileBroker } from '../files/fileBroker';
import type { DeviceBroker } from '../usb/deviceBroker';
import type { SessionLock } from '../session/sessionLock';
import type { AudioBroker } from '../audio/audioBroker';
import type { SmartcardBroker } from '../smartcard/smartcardBroker';
import type { TrainingDesk } from '../training/trainingDesk';
import type { AppLauncher } from '../apps/appLauncher';
import type { CageScreens } from '../screen/cageScreens';
import { VNC_PATH } from '../gateway/gatewayNames';
import type { RpcContext, RpcHandlers } from './rpcSession';
import { shellLocale } from '../policy/shellLocale';

/** A cage's status as a French sentence says it (the shell's i18n.ts says the same). */
const CAGE_STATUS_FR = { starting: 'en cours de démarrage', running: 'en service', crashed: 'arrêtée (panne)', stopped: 'arrêtée' } as const;

export interface HandlerDeps {
  policy: PolicyReader;
  cages: Map<string, CageLifecycle>;
  focus: FocusState;
  tickets: TicketRegistry;
  journal: AuditJournal;
  trust: TrustPhraseStore;
  clipboard: ClipboardBroker;
  files: FileBroker;
  confirmations: Confirmations;
  devices: DeviceBroker;
  lock: SessionLock;
  /** Every open viewer, by cage and shell session. */
  viewers: () => Array<{ level: string; session: string }>;
  /** A new one-time address for a browser-host shell, or null when the browser shell is off. */
  launchUrl: () => { url: string; expiresInMs: number } | null;
  /** Each level's viewer origin in the browser host. */
  viewerOrigins: () => Record<string, string>;
  /** Each WireGuard level's tunnel, as last measured. */
  tunnels: () => TunnelView[];
  audio: AudioBroker;
  /** The smart card's broker; null: the policy gives the card to no level. */
  smartcard: SmartcardBroker | null;
  training: TrainingDesk;
  apps: AppLauncher;
  screens: CageScreens;
  /** The cages' keyboard layout, as the band and the lock screen show it. */
  keyboard: () => KeyboardLayoutView;
  /** The stop under way, as a shell coming now is to see it (lifecycle/stopNotice.ts); null: none. */
  stopping: () => StoppingView | null;
}

/** A report's words as the journal keeps them: one line, no control or direction characters, 280 at most. */
export function reportText(text: string): string {
  return [...text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ').replace(/\s+/g, ' ').trim()].slice(0, 280).join('');
}

/**
 * What a shell may still ask while the workstation is locked: to draw the lock screen and to
 * unlock. Everything else — tickets, input, crossings, devices, the trust phrase — waits.
 */
const WHILE_LOCKED = new Set<RpcMethod>(['session.describe', 'session.lock', 'session.unlock', 'session.activity', 'trust.get', 'clipboard.state', 'devices.list', 'shell.launch']);
// A frame's size is not input and moves nothing: a window resized while locked still fits its cages.
WHILE_LOCKED.add('cage.frameSize');

export function createRpcHandlers(deps: HandlerDeps): RpcHandlers {
  const handlers = unlockedHandlers(deps);
  for (const method of Object.keys(handlers) as RpcMethod[]) {
    if (WHILE_LOCKED.has(method)) continue;
    const handler = handlers[method] as (p: unknown, c: RpcContext) => unknown;
    (handlers as Record<RpcMethod, (p: unknown, c: RpcContext) => unknown>)[method] = (params, context) => {
      if (deps.lock.locked) throw new CloisonError('SESSION_LOCKED', bilingual('le poste est verrouillé : déverrouillez-le d’abord', `${method}: the workstation is locked`));
      return handler(params, context);
    };
  }
  return handlers;
}

function unlockedHandlers(deps: HandlerDeps): RpcHandlers {
  const cageOf = (level: string): CageLifecycle => {
    const cage = deps.cages.get(level);
    if (!cage) throw new CloisonError('UNKNOWN_LEVEL', bilingual(`aucun niveau « ${level} » dans la politique`, `no level "${level}" in the policy`));
    return cage;
  };
  return {
    'session.describe': (_params, { session, transport }) => ({
      levels: levelViews(deps.policy.current()),
      cages: [...deps.cages.values()].map((c) => c.state),
      focus: deps.focus.front,
      shortcuts: { ...deps.policy.current().shortcuts },
      lock: deps.lock.view(),
      tunnels: deps.tunnels(),
      audio: deps.audio.view(),
      smartcard: deps.smartcard?.view() ?? null,
      training: deps.training.view(),
      session,
      viewers: deps.viewers(),
      viewerOrigins: transport === 'websocket' ? deps.viewerOrigins() : {},
      keyboard: deps.keyboard(),
      locale: shellLocale(deps.policy.current()),
      stopping: deps.stopping(),
    }),
    'vnc.ticket': ({ level }, { session }) => {
      const cage = cageOf(level);
      if (!cage.cage) throw new CloisonError('CAGE_UNAVAILABLE', bilingual(`la cage « ${level} » est ${CAGE_STATUS_FR[cage.state.status]}`, `cage "${level}" is ${cage.state.status}`));
      // A ticket opens a view of a cage: no record, no ticket.
      deps.journal.append('vnc.ticket', 'shell', { level, session });
      return { ticket: deps.tickets.issue(level, session), path: VNC_PATH, expiresInMs: deps.tickets.ttlMs };
    },
    'shell.launch': (_params, { transport }) => {
      if (transport !== 'unix') throw new CloisonError('NOT_AUTHORISED', bilingual('un nouveau shell ne se lance que par la prise Unix du superviseur', 'a new shell is launched only through the supervisor\'s Unix socket'));
      const launch = deps.launchUrl();
      if (!launch) throw new CloisonError('WRONG_STATE', bilingual('le shell navigateur est désactivé (démarrez le superviseur avec --browser-shell)', 'the browser shell is off (start the supervisor with --browser-shell)'));
      deps.journal.append('shell.launch', 'shell', {});
      return launch;
    },
    'focus.set': ({ level }) => {
      cageOf(level);
      const previous = deps.focus.front;
      if (deps.focus.set(level)) {
        try {
          deps.journal.append('level.switch', 'user', { from: previous, to: level });
        } catch {
          // The switch stands (refusing it would trap the user in a level, and nothing crosses);
          // the journal counts the record it lost, shown by `cloison status`.
        }
      }
      return { level: deps.focus.front };
    },
    'input.suspend': ({ suspended }) => {
      deps.focus.setSuspended(suspended, 'shell');
      return { suspended: deps.focus.inputSuspended };
    },
    'trust.get': () => {
      const t = deps.trust.get();
      return { phrase: t?.phrase ?? null, symbol: t?.symbol ?? null };
    },
    'trust.set': (setting) => {
      const first = deps.trust.get() === null;
      // The journal records that it changed, never the phrase itself; no record, no change.
      deps.journal.append('trust.set', 'user', { first });
      deps.trust.set(setting);
      return {};
    },
    'clipboard.copy': ({ level }) => {
      cageOf(level);
      return deps.clipboard.copy(level);
    },
    'clipboard.paste': ({ level }) => {
      cageOf(level);
      return deps.clipboard.paste(level);
    },
    'clipboard.state': () => ({ held: deps.clipboard.state }),
    'files.list': async ({ level, path }) => {
      cageOf(level);
      return { entries: await deps.files.list(level, path) };
    },
    'files.transfer': async ({ from, to, paths, justification }) => {
      cageOf(from);
      cageOf(to);
      return { results: await deps.files.transfer(from, to, paths, justification) };
    },
    'files.cancel': () => ({ cancelled: deps.files.cancel() }),
    'files.rule': ({ from, to }) => {
      cageOf(from);
      cageOf(to);
      return deps.files.describeRule(from, to);
    },
    'devices.list': () => ({ devices: deps.devices.list() }),
    'devices.attach': ({ id, level, mode }) => {
      cageOf(level);
      return deps.devices.attach(id, level, mode);
    },
    'devices.eject': ({ id }) => deps.devices.eject(id),
    'devices.mark': ({ id, level }) => {
      cageOf(level);
      return deps.devices.mark(id, level);
    },
    'devices.unmark': ({ id }) => deps.devices.unmark(id),
    'devices.dismiss': ({ id }) => deps.devices.dismiss(id),
    'apps.list': async () => ({ levels: await deps.apps.list() }),
    'apps.launch': ({ level, id }) => deps.apps.launch(level, id),
    'report.anomaly': ({ text }) => {
      deps.journal.append('user.report', 'user', { level: deps.focus.front, text: reportText(text) });
      return {};
    },
    'viewer.focusTaken': ({ level, grabs }) => {
      cageOf(level);
      deps.journal.append('viewer.focusTaken', 'shell', { level, grabs });
      return {};
    },
    'training.answer': ({ id }) => {
      const session = deps.training.current;
      if (!session) throw new CloisonError('WRONG_STATE', bilingual('aucune session d’entraînement n’est en cours', 'no training session is running'));
      return session.answer(id);
    },
    'audio.set': ({ level, muted, volume }) => {
      cageOf(level);
      return deps.audio.set(level, { ...(muted !== undefined ? { muted } : {}), ...(volume !== undefined ? { volume } : {}) });
    },
    'audio.microphone': ({ level }) => {
      if (level !== null) cageOf(level);
      return deps.audio.setMicrophone(level);
    },
    'smartcard.assign': ({ level }) => {
      if (!deps.smartcard) throw new CloisonError('POLICY_DENIED', bilingual('la politique ne donne la carte à puce à aucun niveau', 'the policy gives the smart card to no level'));
      return level === null ? deps.smartcard.take('user') : deps.smartcard.give(level, 'user');
    },
    'smartcard.pin': ({ id, pin }) => {
      if (!deps.smartcard) throw new CloisonError('POLICY_DENIED', bilingual('la politique ne donne la carte à puce à aucun niveau', 'the policy gives the smart card to no level'));
      deps.smartcard.pinTyped(id, pin);
      return {};
    },
    'session.lock': () => {
      deps.lock.lock('user');
      return deps.lock.view();
    },
    'session.unlock': ({ password }, context) => deps.lock.unlock(password, { transport: context.transport, ...(context.peerUid !== undefined ? { peerUid: context.peerUid } : {}) }),
    'session.activity': () => {
      deps.lock.activity();
      return {};
    },
    'session.lockDelay': ({ seconds }) => deps.lock.chooseDelay(seconds),
    'confirm.answer': ({ id, accept }) => {
      deps.confirmations.answerFromUser(id, accept ? 'accepted' : 'refused');
      return {};
    },
    'cage.frameSize': ({ level, ...frame }) => {
      cageOf(level);
      return { screen: deps.screens.frameSize(level, frame) };
    },
    'cage.restart': async ({ level }) => {
      const cage = cageOf(level);
      deps.journal.append('cage.retry', 'user', { level });
      void cage.retry();
      return {};
    },
  };
}
