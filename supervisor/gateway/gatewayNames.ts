/**
 * The gateway's names other modules need without its code: the `cloison` part's bundle takes them
 * from here, and so does not evaluate `ws` and the Node modules it loads (https, tls, zlib…) on its
 * way to the browser part listening (issue #26: the gateway runs in the browser part).
 */

/** Where the shell's WebSocket connections to a cage's screen go (vncGateway.ts serves it). */
export const VNC_PATH = '/vnc';

/** Round trips that leave the hot path optimised: cold p99 within websockify's (bench/RESULTS.md). */
export const GATEWAY_WARM_UP_ROUNDS = 10_000;
