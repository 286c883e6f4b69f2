/**
 * The browser part's side of the benchmark's gateway (gatewayProcess.ts's `part` mode) as its
 * parent starts and answers it: the supervisor's channel (sandbox/partChannel.ts: frames on fds 3
 * and 5, descriptors on fd 4), tickets issued by the parent, each admitted viewer's cage socket
 * handed over as a descriptor (browserPart.ts's handOver). The parent is the root supervisor's
 * stand-in (gatewayProcess.ts) or, split, the `cloison` part's (splitGatewayPart.ts).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { handOver } from '../../supervisor/browserPart/browserPart';
import type { ViewerAdmission } from '../../supervisor/browserPart/viewerAdmission';
import type { GatewayAdmission } from '../../supervisor/gateway/vncGateway';
import { createCageCgroup, openCageCgroup } from '../../supervisor/cages/cageCgroup';
import { partChannelDescriptors, RootChannelEnd } from '../../supervisor/sandbox/partChannel';
import { createPartCgroup } from '../../supervisor/sandbox/partCgroup';
import { childGroupPrefix } from './latencyLevers';

export type FromPart = { type: 'ticket'; request: number } | { type: 'vnc.open'; request: number; level: string; ticket: string } | { type: 'listening'; port: number };
export type ToPart = { type: 'ticket'; request: number; ticket: string } | { type: 'vnc.opened'; request: number; admission: GatewayAdmission | { session: string; handle: true } };

export interface GatewayChildOptions {
  socketPath: string;
  admit: ViewerAdmission;
  issueTicket: () => string;
  /** The browser part's port, once it listens. */
  listening: (port: number) => void;
  /** Its environment (WARM_UP, and the parent's own). */
  env: NodeJS.ProcessEnv;
  /** V8 flags of the benchmark's processes (BENCH_NODE_FLAGS). */
  nodeFlags: string[];
  /**
   * In a control group of its own with the browser part's limits, as BrowserPart starts it (root
   * only): gateway-split's root side, so that both sides compared run in one as they do in the
   * product (the split's part and its child are in the cloison part's).
   */
  controlGroup?: boolean;
}

/** The browser part's limits (browserPart.ts's PART_LIMITS). */
const BROWSER_PART_LIMITS = { memoryBytes: 1024 * 2 ** 20, tasks: 256 };

/** Starts gatewayProcess.ts in its `part` mode as this process's child and answers it; resolves with the child once started. */
export function startGatewayChild(options: GatewayChildOptions): ReturnType<typeof spawn> {
  const ends = partChannelDescriptors();
  const script = fileURLToPath(new URL('./gatewayProcess.ts', import.meta.url));
  const group = options.controlGroup && process.getuid?.() === 0 ? createPartCgroup({ create: createCageCgroup, open: openCageCgroup }, 'bench browser part', BROWSER_PART_LIMITS) : null;
  if (group && !group.cgroup) throw new Error(`no control group for the benchmark's browser part: ${group.reason}`);
  const argv = [...childGroupPrefix(group?.cgroup ?? null), process.execPath, ...options.nodeFlags, '--import', 'tsx', script, options.socketPath, 'part'];
  const part = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit', ...ends.partStdio], env: options.env });
  ends.closePartEnds();
  part.once('exit', () => group?.cgroup?.remove());
  const channel: RootChannelEnd<ToPart> = new RootChannelEnd<ToPart>(ends.rootEnds, {
    maxIncomingBytes: 64 * 1024,
    misbehaved: (reason) => (process.stderr.write(`bench part: ${reason}\n`), part.kill('SIGKILL')),
    message: async (raw) => {
      const m = raw as FromPart;
      if (m.type === 'listening') options.listening(m.port);
      if (m.type === 'ticket') channel.send({ type: 'ticket', request: m.request, ticket: options.issueTicket() });
      if (m.type === 'vnc.open') {
        const { admission, socket } = await options.admit(m.level, m.ticket);
        if (socket) handOver((message, fd) => channel.send(message as ToPart, fd), { type: 'vnc.opened', request: m.request, admission }, socket);
        else channel.send({ type: 'vnc.opened', request: m.request, admission: admission as Exclude<typeof admission, { handle: true }> });
      }
    },
  });
  return part;
}
