/**
 * Which application opened a card connection, for the trusted PIN dialog to say who asks: the
 * connecting process's name (SO_PEERCRED's pid, its /proc comm), as the host's kernel sees it.
 *
 * Trust rule: the name is the application's own claim (any process may rename itself), shown as
 * such beside the level, which alone is the supervisor's fact; it is made printable and bounded.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { peerCredentials } from '../sandbox/peerCredentials';

/** The peer's process name, or "?" when it cannot be read. */
export function applicationOf(socket: Socket): string {
  try {
    const { pid } = peerCredentials(socket);
    const name = readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/[\p{Cc}\p{Cf}]/gu, '').trim().slice(0, 64);
    return name || '?';
  } catch {
    return '?';
  }
}
