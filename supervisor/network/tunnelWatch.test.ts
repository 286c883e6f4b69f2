/**
 * What the band is told of a tunnel, on a clock the test drives and a tunnel that reports what the
 * test says: connecting until the first handshake (down after 15 s without one), up while the last
 * handshake is under 3 minutes old, down after that, failed when its process ends; nothing is told
 * while nothing changes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TunnelView } from '../../shared/rpc';
import { TunnelWatch } from './tunnelWatch';
import type { Tunnel } from './wireguardTunnel';

function fakeTunnel() {
  let handshakeAt: number | null = null;
  let end: (why: string) => void = () => undefined;
  const tunnel: Tunnel = { ifname: 'clwtest', kind: 'wireguard-go', status: async () => ({ handshakeAt }), close: async () => undefined, ended: new Promise((r) => (end = r)) };
  return { tunnel, handshake: () => (handshakeAt = Date.now()), end: (why: string) => end(why) };
}

describe('tunnel watch', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('connecting, up with the handshake age, down when handshakes stop, failed when its process ends', async () => {
    const watch = new TunnelWatch('high', '10.231.0.2:51820', 1000);
    const seen: TunnelView[] = [];
    watch.on('change', (v) => seen.push(v));
    const t = fakeTunnel();
    watch.watch(t.tunnel);
    await vi.advanceTimersByTimeAsync(5000);
    expect(watch.current.state).toBe('connecting');
    t.handshake();
    await vi.advanceTimersByTimeAsync(1000);
    expect(watch.current).toMatchObject({ state: 'up', handshakeAgeSeconds: 1 });
    await vi.advanceTimersByTimeAsync(179_000);
    expect(watch.current.state).toBe('up');
    await vi.advanceTimersByTimeAsync(2000);
    expect(watch.current).toMatchObject({ state: 'down', reason: expect.stringContaining('nothing leaves this cage') });
    t.end('wireguard-go ended (SIGKILL)');
    await vi.advanceTimersByTimeAsync(10);
    expect(watch.current).toMatchObject({ state: 'failed', reason: 'wireguard-go ended (SIGKILL): this cage has no route at all' });
    expect(watch.current.reasonText?.fr).toBe('wireguard-go s’est arrêté (SIGKILL) : cette cage n’a aucune route');
    // An event per change of what is shown (the age moves), none while nothing changes.
    expect([...new Set(seen.map((v) => v.state))]).toEqual(['up', 'down', 'failed']);
    const before = seen.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen.length).toBe(before);
    watch.stop();
  });

  it('no first handshake within 15 s: down, with the reason', async () => {
    const watch = new TunnelWatch('high', '10.231.0.2:51820', 1000);
    watch.watch(fakeTunnel().tunnel);
    await vi.advanceTimersByTimeAsync(16_000);
    expect(watch.current).toMatchObject({ state: 'down', handshakeAgeSeconds: null, reason: 'no answer from the gateway: nothing leaves this cage' });
    expect(watch.current.reasonText).toEqual({ fr: 'pas de réponse de la passerelle : rien ne sort de cette cage', en: 'no answer from the gateway: nothing leaves this cage' });
    watch.stop();
  });
});
