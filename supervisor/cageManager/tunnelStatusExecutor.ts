/**
 * The manager's side of `tunnel.status`: a level's WireGuard tunnel as its cage's driver measures
 * it (network/tunnelWatch.ts: the last handshake's age, from the tunnel itself), for the band's
 * view in the unprivileged part. The cage's driver and its tunnel are the manager's; the part
 * could only read them through here. Read-only: it opens, closes and asks nothing of the tunnel.
 *
 * The answer is the band's figures alone, copied field by field (never the configuration, never
 * a key): the state, the handshake's age, the endpoint the configuration names, the reason in
 * English (the part translates it), held to known shapes with nothing key-shaped in it
 * (tunnelReasonForPart.ts: a configuration's refusal is the reason). `tunnel: null` while the level's cage is not running here, or
 * runs without a tunnel (started before a reload gave its level one).
 */
import type { TunnelView } from '../../shared/rpc';
import type { ManagedCages } from './managedCages';
import type { RequestOf } from './requests';
import { tunnelReasonForPart, withoutKeys } from './tunnelReasonForPart';

export type TunnelStatus = Pick<TunnelView, 'level' | 'state' | 'handshakeAgeSeconds' | 'endpoint' | 'reason'>;

const STATES: ReadonlySet<string> = new Set(['connecting', 'up', 'down', 'failed']);
const TEXT_CHARS = 300;

export function tunnelStatusExecutor(options: { cages: Pick<ManagedCages, 'cage'> }): (req: RequestOf<'tunnel.status'>) => Promise<{ tunnel: TunnelStatus | null }> {
  return async (req) => {
    const view = options.cages.cage(req.level)?.tunnel?.current();
    if (!view) return { tunnel: null };
    return {
      tunnel: {
        level: req.level,
        state: STATES.has(view.state) ? view.state : 'down',
        handshakeAgeSeconds: Number.isInteger(view.handshakeAgeSeconds) && view.handshakeAgeSeconds! >= 0 ? view.handshakeAgeSeconds : null,
        endpoint: withoutKeys(oneLine(view.endpoint)),
        reason: view.reason === null ? null : tunnelReasonForPart(view.reason),
      },
    };
  };
}

function oneLine(text: string): string {
  return String(text).replace(/[^\x20-\x7e\u00a0-\u024f]+/g, ' ').slice(0, TEXT_CHARS);
}
