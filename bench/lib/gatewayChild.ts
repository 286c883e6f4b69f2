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
import { partChannelDescriptors, RootChannelEnd } from '../../supervisor/sandbox/partChannel';

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
}

/** Starts gatewayProcess.ts in its `part` mode as this process's child and answers it; resolves with the child once started. */
export function startGatewayChild(options: GatewayChildOptions): ReturnType<typeof spawn> {
  const ends = partChannelDescriptors();
  const script = fileURLToPath(new URL('./gatewayProcess.ts', import.meta.url));
  const part = spawn(process.execPath, [...options.nodeFlags, '--import', 'tsx', script, options.socketPath, 'part'], { stdio: ['ignore', 'ignore', 'inherit', ...ends.partStdio], env: options.env });
  ends.closePartEnds();
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
