/**
 * What the band says of a level's tunnel, measured by the supervisor from the tunnel itself (its
 * last handshake), never from anything the cage claims. A handshake within the last 3 minutes
 * (WireGuard's own limit before it stops sending) is "up"; no handshake within 15 s of opening, or
 * none for longer than 3 minutes, is "down" — and down, nothing leaves the cage (it has no other
 * route). A tunnel that could not be made, or whose process ended, is "failed", with the reason.
 */
import { tunnelText } from './tunnelText';
import { EventEmitter } from 'node:events';
import type { TunnelView } from '../../shared/rpc';
import type { Tunnel } from './wireguardTunnel';

const REJECT_AFTER_MS = 180_000;
const FIRST_HANDSHAKE_MS = 15_000;

export class TunnelWatch extends EventEmitter<{ change: [TunnelView] }> {
  private view: TunnelView;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    level: string,
    endpoint: string,
    private readonly pollMs = 3000,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.view = { level, state: 'connecting', handshakeAgeSeconds: null, endpoint, reason: null };
  }

  get current(): TunnelView {
    return this.view;
  }

  /** Where the tunnel leads, once its configuration was read. */
  setEndpoint(endpoint: string): void {
    this.view = { ...this.view, endpoint };
  }

  /** Watches an open tunnel until it ends or `stop()`. */
  watch(tunnel: Tunnel): void {
    const openedAt = this.now();
    void tunnel.ended.then((why) => this.fail(why));
    const poll = async () => {
      try {
        const { handshakeAt } = await tunnel.status();
        const age = handshakeAt === null ? null : Math.max(0, Math.round((this.now() - handshakeAt) / 1000));
        if (handshakeAt !== null && this.now() - handshakeAt <= REJECT_AFTER_MS) this.set('up', age, null);
        else if (handshakeAt === null && this.now() - openedAt < FIRST_HANDSHAKE_MS) this.set('connecting', null, null);
        else this.set('down', age, handshakeAt === null ? 'no answer from the gateway: nothing leaves this cage' : `no handshake for ${age} s: nothing leaves this cage`);
      } catch (err) {
        this.set('down', this.view.handshakeAgeSeconds, (err as Error).message);
      }
    };
    void poll();
    this.timer = setInterval(() => void poll(), this.pollMs);
    this.timer.unref();
  }

  fail(reason: string): void {
    this.stop();
    this.set('failed', null, `${reason}: this cage has no route at all`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private set(state: TunnelView['state'], age: number | null, reason: string | null): void {
    const next: TunnelView = { ...this.view, state, handshakeAgeSeconds: age, reason };
    if (reason) next.reasonText = tunnelText(reason);
    else delete next.reasonText;
    if (JSON.stringify(next) === JSON.stringify(this.view)) return;
    this.view = next;
    this.emit('change', next);
  }
}
