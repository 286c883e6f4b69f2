/**
 * The running cages' WireGuard tunnels as the shells see them: each change shown, each change of
 * state journaled, and a tunnel marked down when its cage stops.
 */
import type { TunnelView } from '../../shared/rpc';
import type { CageLifecycle } from './cageLifecycle';

export interface CageTunnelsOptions {
  fact: (kind: string, fields: Record<string, string | number | boolean | null>) => void;
  show: (view: TunnelView) => void;
}

export class CageTunnels {
  private readonly tunnels = new Map<string, TunnelView>();

  constructor(private readonly options: CageTunnelsOptions) {}

  /** Every level on a WireGuard network: its tunnel as last measured. */
  views(): TunnelView[] {
    return [...this.tunnels.values()];
  }

  /** A running cage's tunnel: each change shown to the shells, each change of state journaled. */
  follow(level: string, lifecycle: CageLifecycle): void {
    const tunnel = lifecycle.cage?.tunnel;
    if (!tunnel) return;
    const show = (view: TunnelView) => {
      const before = this.tunnels.get(level);
      this.tunnels.set(level, view);
      if (before?.state !== view.state) this.options.fact('tunnel.state', { level, state: view.state, endpoint: view.endpoint, ...(view.reason ? { reason: view.reason } : {}) });
      this.options.show(view);
    };
    show(tunnel.current());
    tunnel.onChange(show);
  }

  gone(level: string): void {
    const view = this.tunnels.get(level);
    if (!view || view.state === 'down') return;
    const down = { ...view, state: 'down' as const, reason: 'the cage is not running' };
    this.tunnels.set(level, down);
    this.options.show(down);
  }
}
