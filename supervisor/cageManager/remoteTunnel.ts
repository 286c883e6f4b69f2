/**
 * A WireGuard level's tunnel as the `cloison` part sees it (#29): the cage's driver, which opened
 * the tunnel and measures it, is the manager's; the part asks `tunnel.status` every few seconds
 * while the cage runs (as the driver's own watch polls its tunnel) and passes each change to the
 * band (cages/cageTunnels.ts), its reason translated here. Until the first answer the tunnel is
 * "connecting", as a new tunnel is; after the cage's end, or a lost connection, no more is asked
 * (the fleet marks the tunnel down and its reconnection makes a new RunningCage that asks again).
 */
import { EventEmitter } from 'node:events';
import { CloisonError } from '../../shared/errors';
import { tunnelViewSchema, type TunnelView } from '../../shared/rpc';
import { tunnelText } from '../network/tunnelText';
import type { RunningCage } from '../cages/cageDriver';

const POLL_MS = 3000;
const answerSchema = tunnelViewSchema.omit({ reasonText: true }).strict();

export interface RemoteTunnelOptions {
  level: string;
  ask(request: { op: 'tunnel.status'; level: string }): Promise<unknown>;
  /** Whether the cage still runs (its end known: nothing more is asked). */
  running(): boolean;
  pollMs?: number;
}

export function remoteTunnel(options: RemoteTunnelOptions): NonNullable<RunningCage['tunnel']> {
  const { level } = options;
  const events = new EventEmitter<{ change: [TunnelView] }>();
  let view: TunnelView = { level, state: 'connecting', handshakeAgeSeconds: null, endpoint: '', reason: null };
  let timer: NodeJS.Timeout | null = null;
  let asking = false;
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };
  const poll = async () => {
    if (!options.running()) return stop();
    if (asking) return; // one request at a time: a slow manager is not asked again meanwhile
    asking = true;
    try {
      const answer = Object(await options.ask({ op: 'tunnel.status', level })) as { tunnel?: unknown };
      if (answer.tunnel === null || !options.running()) return;
      const parsed = answerSchema.safeParse(answer.tunnel);
      // Another level's view, or one that is none, is not shown as this level's.
      if (!parsed.success || parsed.data.level !== level) return;
      set(parsed.data);
    } catch (err) {
      if (err instanceof CloisonError && err.code === 'CONNECTION_LOST') stop();
    } finally {
      asking = false;
    }
  };
  const set = (next: TunnelView) => {
    const shown: TunnelView = next.reason ? { ...next, reasonText: tunnelText(next.reason) } : next;
    if (JSON.stringify(shown) === JSON.stringify(view)) return;
    view = shown;
    events.emit('change', shown);
  };
  return {
    current: () => view,
    onChange: (listener) => {
      events.on('change', listener);
      if (timer) return;
      void poll();
      timer = setInterval(() => void poll(), options.pollMs ?? POLL_MS);
      timer.unref();
    },
  };
}
