/**
 * The shell's RPC held while the start sets up what it answers about. The shell's address is
 * announced as soon as the browser part and the sockets listen (startSequence.ts), while USB and
 * the smart card are still being set up and before the cages are asked to start: a shell that
 * connects then and asks (its devices, the card's state, a cage's status, a ticket) gets its answer
 * once that set-up is done — never one made of what is not set up yet (no devices for lack of a
 * media root, a cage "stopped" whose start is a moment away). Once open, every call goes straight
 * through, as if there were no gate.
 */
import type { RpcHandlers } from '../rpc/rpcSession';

export class StartGate {
  private isOpen = false;
  private release: () => void = () => undefined;
  private readonly opened = new Promise<void>((resolve) => (this.release = resolve));

  /** The start's set-up is done (or the start ended): the calls held answer, in the order they came. */
  open(): void {
    this.isOpen = true;
    this.release();
  }

  /** The same handlers, each waiting for the gate to open first. */
  hold(handlers: RpcHandlers): RpcHandlers {
    const held: Record<string, (params: unknown, context: unknown) => unknown> = {};
    for (const [method, handler] of Object.entries(handlers) as [string, (params: unknown, context: unknown) => unknown][]) {
      held[method] = (params, context) => (this.isOpen ? handler(params, context) : this.opened.then(() => handler(params, context)));
    }
    return held as unknown as RpcHandlers;
  }
}
