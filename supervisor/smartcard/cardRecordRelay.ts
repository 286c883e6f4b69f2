/**
 * The record guard's relay as a program of its own (native/cardRecordRelay.c): the cage's and the
 * proxy's connections are handed to it once made here (the listener, its descriptor refusal, the
 * connection limit and the proxy connection — the manager's, in the cloison part — stay the guard's),
 * and it passes each record on, bounded, without a Node read and write per hop. What the journal
 * reads comes back here: a login's call and reply heads, and a refusal's, the refusal held from the
 * cage until the journal has had its chance to ask the token about it (`ask`, cardObjectNames.ts).
 *
 * It runs as the cloison part's uid (under its syscall filter), or a root supervisor's level's proxy
 * uid, with nothing but the descriptors given; it exits when this process's end of its command
 * stream closes. Under `pin: trusted` the guard relays in Node (trustedPinLogin.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { sendDescriptor, socketPair } from '../sandbox/descriptorPassing';
import { refuseDescriptorsOnStdio } from '../system/refusePassedDescriptors';
import { checkOpensslPreinit, type PreinitCheck } from './opensslPreinit';

export const CARD_RECORD_RELAY_NAME = 'cardRecordRelay';

/** Where `npm run build` puts it (the same folder from the bundle or the sources). */
export function builtCardRecordRelay(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'supervisor', CARD_RECORD_RELAY_NAME);
}

/**
 * Whether `file` may be run by the supervisor (root, or the part): as a library root preloads
 * (opensslPreinit.ts), its real path, root's, in folders only root may write.
 */
export function checkRelayProgram(file: string): PreinitCheck {
  return checkOpensslPreinit(file);
}

/** A connection's journal: each watched call's first bytes, then its reply's. */
export interface RelayWatch {
  call: (head: Buffer) => void;
  reply: (head: Buffer) => void;
}

/** Why the relay ended a connection: the cage sent a record over the bound, or pipelined its calls (native/cardRecordRelay.c's PENDING); null, anything else. */
export type RelayEnd = 'oversize' | 'pipelined' | null;

export interface RelayedConnection {
  /** The supervisor's call on this connection; its reply's body, or null (not quiet, or gone). */
  ask(record: Buffer): Promise<Buffer | null>;
  close(): void;
}

const HEADER = 12;
const NONE = 0xffffffff;
/** Largest record `ask` sends (the relay's MAX_INJECTED). */
const MAX_INJECTED = 4096;

interface Relayed {
  watch: RelayWatch | null;
  closed: (why: RelayEnd) => void;
  /** `ask`'s answers, in the order asked (the relay answers each 'I' once). */
  answers: ((body: Buffer | null) => void)[];
}

export class CardRecordRelay {
  private child: ChildProcess | null = null;
  private descriptors = -1;
  private commands: Writable | null = null;
  private readonly connections = new Map<number, Relayed>();
  private nextId = 0;
  private received = Buffer.alloc(0);
  /** The last run could not start (spawn's error: not found, no permission to run it). */
  failedToStart = false;

  /**
   * `watched`: the procedures whose refusals the journal reads; `login`'s replies are reported
   * whatever they say. `gone`: the relay exited (every connection it held ended with it).
   */
  constructor(
    private readonly program: string,
    private readonly options: { maxRecordBytes: number; login: number; watched: number[]; uid?: number; gid?: number; gone?: (why: string) => void },
  ) {}

  static available(program = builtCardRecordRelay()): boolean {
    return existsSync(program);
  }

  get running(): boolean {
    return this.child !== null;
  }

  start(): void {
    const [ours, theirs] = socketPair();
    const { maxRecordBytes, login, watched } = this.options;
    let child: ChildProcess;
    try {
      child = spawn(this.program, [String(maxRecordBytes), String(login), ...watched.map(String)], {
        stdio: ['ignore', 'ignore', 'inherit', theirs, 'pipe', 'pipe'],
        env: {},
        cwd: '/',
        // A root supervisor's relay runs as the level's proxy uid (supplementary groups cleared by libuv).
        ...(this.options.uid !== undefined ? { uid: this.options.uid, gid: this.options.gid ?? this.options.uid } : {}),
      });
    } finally {
      closeSync(theirs);
    }
    // Its report stream is a socketpair this process reads: nothing may come with a descriptor.
    refuseDescriptorsOnStdio(child);
    this.child = child;
    this.descriptors = ours;
    const streams = child.stdio as unknown as (Readable | Writable | null)[];
    this.commands = streams[4] as Writable;
    this.commands.on('error', () => undefined);
    (streams[5] as Readable).on('data', (data: Buffer) => this.reports(data));
    child.on('exit', (code, signal) => this.ended(`exited (${signal ?? code})`));
    child.on('error', (err) => this.ended(err.message, child.pid === undefined));
  }

  /**
   * Hands a cage's connection and its proxy's to the relay; this process's copies are closed. Both
   * must not have been read from (paused since they were made).
   */
  add(cage: Socket, proxy: Socket, watch: RelayWatch | null, closed: (why: RelayEnd) => void): RelayedConnection | null {
    const cageFd = descriptorOf(cage);
    const proxyFd = descriptorOf(proxy);
    if (!this.child || cageFd === null || proxyFd === null) return null;
    const id = this.nextId++ >>> 0;
    try {
      sendDescriptor(this.descriptors, cageFd);
      sendDescriptor(this.descriptors, proxyFd);
    } catch {
      // The pair half sent: the relay numbers pairs, it cannot recover; it is ended (and started again by its owner).
      void this.stop();
      return null;
    }
    const relayed: Relayed = { watch, closed, answers: [] };
    this.connections.set(id, relayed);
    cage.destroy();
    proxy.destroy();
    return {
      ask: (record) => {
        if (!this.connections.has(id) || record.length > MAX_INJECTED) return Promise.resolve(null);
        return new Promise((resolve) => {
          relayed.answers.push(resolve);
          this.command('I', id, record);
        });
      },
      close: () => this.command('C', id),
    };
  }

  /** Ends the relay and with it every connection it holds; resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) resolve();
      else child.once('exit', () => resolve());
    });
    child.kill('SIGKILL');
    this.ended('stopped');
    await exited;
  }

  /** `failedToStart`: it could not be run at all (not worth trying again for each connection). */
  private ended(why: string, failedToStart = false): void {
    if (!this.child) return;
    this.failedToStart = failedToStart;
    this.child = null;
    this.commands = null;
    if (this.descriptors >= 0) closeSync(this.descriptors);
    this.descriptors = -1;
    for (const relayed of this.connections.values()) {
      for (const answer of relayed.answers) answer(null);
      relayed.closed(null);
    }
    this.connections.clear();
    this.options.gone?.(why);
  }

  private command(kind: 'I' | 'R' | 'C', id: number, body: Buffer = Buffer.alloc(0)): void {
    const header = Buffer.alloc(HEADER);
    header.write(kind, 0, 'latin1');
    header.writeUInt32LE(id, 4);
    header.writeUInt32LE(body.length, 8);
    this.commands?.write(body.length > 0 ? Buffer.concat([header, body]) : header);
  }

  private reports(data: Buffer): void {
    let buffer = this.received.length > 0 ? Buffer.concat([this.received, data]) : data;
    while (buffer.length >= HEADER) {
      const kind = String.fromCharCode(buffer[0]!);
      const id = buffer.readUInt32LE(4);
      const length = buffer.readUInt32LE(8);
      const bodyLength = kind === 'A' ? (length === NONE ? 0 : length) : kind === 'X' ? 0 : (length >>> 16) + (length & 0xffff);
      if (buffer.length < HEADER + bodyLength) break;
      const body = buffer.subarray(HEADER, HEADER + bodyLength);
      buffer = buffer.subarray(HEADER + bodyLength);
      this.report(kind, id, length, body);
    }
    this.received = Buffer.from(buffer);
  }

  private report(kind: string, id: number, length: number, body: Buffer): void {
    const relayed = this.connections.get(id);
    if (kind === 'X') {
      this.connections.delete(id);
      if (!relayed) return;
      for (const answer of relayed.answers) answer(null);
      relayed.closed(length === 1 ? 'oversize' : length === 2 ? 'pipelined' : null);
      return;
    }
    if (!relayed) return;
    if (kind === 'A') return void relayed.answers.shift()?.(length === NONE ? null : Buffer.from(body));
    // 'J' or 'H': the call's head and its reply's; a held refusal goes on once the journal has read it (and asked).
    const callLength = length >>> 16;
    try {
      relayed.watch?.call(Buffer.from(body.subarray(0, callLength)));
      relayed.watch?.reply(Buffer.from(body.subarray(callLength)));
    } finally {
      if (kind === 'H') this.command('R', id);
    }
  }
}

function descriptorOf(socket: Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}
