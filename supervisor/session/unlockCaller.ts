/**
 * Which connection may unlock: only the shell session that shows the lock screen to the
 * workstation's user. Over the Unix socket that is a peer running as that user (the kernel's word,
 * SO_PEERCRED) — not another member of the shell group, not root, whose administrators may lock a
 * workstation but never unlock it. Over the browser host's WebSocket every session was admitted by
 * the one-time launch secret (or its resume token) of the shell the supervisor itself opened, so
 * it is that shell. Anything else is refused before a password is checked, and journaled.
 */
import { bilingual, type Bilingual } from '../../shared/bilingual';
import type { WorkstationUser } from './workstationUser';

export interface UnlockCaller {
  transport: 'unix' | 'websocket';
  /** The peer's uid on the Unix socket; absent when it could not be read. */
  peerUid?: number;
}

/** Why this connection may not unlock, or null when it is the workstation user's shell. */
export function unlockCallerRefusal(caller: UnlockCaller, user: WorkstationUser | null): Bilingual | null {
  if (caller.transport === 'websocket') return null;
  if (caller.peerUid === undefined) return bilingual('l’identité de la connexion est inconnue : seul le shell de l’utilisateur du poste peut déverrouiller', 'the connection\'s credentials are unknown: only the workstation user\'s shell may unlock');
  if (user && caller.peerUid === user.uid) return null;
  return bilingual(
    `une connexion de l’uid ${caller.peerUid} n’est pas le shell de l’utilisateur du poste${user ? ` (${user.name}, uid ${user.uid})` : ''} : seul ce shell peut déverrouiller`,
    `a connection of uid ${caller.peerUid} is not the shell of the workstation's user${user ? ` (${user.name}, uid ${user.uid})` : ''}: only that shell may unlock`,
  );
}
