/**
 * How the supervisor reaches the root cage manager when it runs as the unprivileged `cloison` part
 * (issue #29, docs/least-privilege.md). Given in `SupervisorOptions.manager`, every act that needs
 * root goes through `client` as one of the requests of requests.ts, and what the manager hands over
 * (a cage's VNC connection, a file helper's channel, a sound end) comes on the part's channel
 * (socketHandOver.ts: each receiver makes its own `HandedSockets` of its message type). Absent, the
 * supervisor is the root part and does that work itself, as before the split.
 */
import type { CageManagerClient } from './cageManagerClient';

export interface ManagerLink {
  client: CageManagerClient;
}
