/**
 * What the file broker needs from a cage's home, and nothing more: the file helper's modes
 * (fileHelper.mjs) run on that one home as the cage's uid. Two ways to get there: the root
 * supervisor starts the helper's sandbox itself (here, cageFileSandbox.ts); the unprivileged
 * `cloison` part asks the root cage manager for a serving helper and speaks to it over the channel
 * handed over (cageManager/remoteCageHomes.ts). The broker is the same either way.
 */
import type { Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runFileHelper, spawnFileHelper, STAGED_IN_SANDBOX, type CageHome, type HelperResult } from './cageFileSandbox';

/** How a helper run ended: its exit code (0 done, 2 refused: `stderr` is for the user, else failed). */
export interface HelperExit {
  code: number;
  stderr: string;
}

/** A file being read out of the home: its bytes, then how the reader ended. */
export interface HomeReading {
  bytes: Readable;
  exited: Promise<HelperExit>;
  /** Stops it (the transfer cancelled). */
  kill(): void;
}

/** A staged copy being written into the home: staged whole under a hidden name, then linked or dropped. */
export interface HomeWriting {
  /** True once the helper says the copy is staged whole; false if it ended first. */
  staged: Promise<boolean>;
  /** Links the staged copy under its name (true) or drops it (false); once. */
  commit(link: boolean): void;
  /** `stdout`: the helper's JSON lines, the last `{ name }` the name it landed under. */
  exited: Promise<HelperExit & { stdout: string }>;
  kill(): void;
}

/** One cage's home as the broker reaches it; every path relative to the home. */
export interface HomeAccess {
  /** list, stat, clean: a JSON answer on stdout. */
  run(args: ['list' | 'stat' | 'clean', string]): Promise<HelperResult>;
  /** Whether `dir` is there (a clean would create it). */
  exists(dir: string): Promise<boolean>;
  /** `identity`: the file as listed (its stat's device, inode, size, times); any other is refused. */
  read(path: string, identity: string): HomeReading;
  /** `staged`: the broker's staged copy (its own file), `size` its length. */
  write(dir: string, name: string, staged: string, size: number): HomeWriting;
}

/** Every level's home: null for a level whose files the supervisor cannot reach (not a bwrap cage). */
export interface CageHomes {
  of(level: string): HomeAccess | null;
}

/** The root supervisor's way, as before the split: a helper sandbox started here per act. */
export function localCageHomes(homeOf: (level: string) => CageHome | null): CageHomes {
  return {
    of: (level) => {
      const home = homeOf(level);
      return home ? localHomeAccess(home) : null;
    },
  };
}

function localHomeAccess(home: CageHome): HomeAccess {
  return {
    run: (args) => runFileHelper(home, args),
    exists: (dir) => Promise.resolve(existsSync(join(home.home, dir))),
    read(path, identity) {
      const reader = spawnFileHelper(home, ['read', path, identity]);
      let stderr = '';
      reader.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d).slice(-1000)));
      const exited = new Promise<HelperExit>((r) => reader.on('close', (code) => r({ code: code ?? -1, stderr })));
      return { bytes: reader.stdout!, exited, kill: () => reader.kill('SIGKILL') };
    },
    write(dir, name, staged, size) {
      // The writer reads the staged copy itself (bound read-only into its sandbox): a kernel copy.
      const writer = spawnFileHelper(home, ['write', dir, name, STAGED_IN_SANDBOX, String(size)], ['ignore', 'pipe', 'pipe', 'pipe'], staged);
      const tail = { stderr: '', stdout: '' };
      writer.stderr!.on('data', (d: Buffer) => (tail.stderr = (tail.stderr + d).slice(-1000)));
      const exited = new Promise<HelperExit & { stdout: string }>((r) => writer.on('close', (code) => r({ code: code ?? -1, stderr: tail.stderr, stdout: tail.stdout })));
      const stagedWhole = new Promise<boolean>((resolve) => {
        writer.stdout!.on('data', (d: Buffer) => {
          tail.stdout += d.toString();
          if (tail.stdout.includes('"staged"')) resolve(true);
        });
        writer.on('close', () => resolve(false));
      });
      const control = writer.stdio[3] as Writable;
      control.on('error', () => {});
      return {
        staged: stagedWhole,
        commit: (link) => {
          if (!control.writableEnded) control.end(link ? 'c' : undefined); // EOF: the writer drops its partial copy
        },
        exited,
        kill: () => writer.kill('SIGKILL'),
      };
    },
  };
}
