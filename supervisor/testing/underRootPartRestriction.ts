/**
 * Runs a command (a test file's vitest run) under exactly the root part's restriction: the bounding
 * set and capabilities it keeps, its syscall filter, inherited by everything the command starts.
 * This is how ROOT_PART_CAPABILITIES was checked: each root operation's tests pass under it, and
 * `--without CAP_X` shows which of them needs CAP_X.
 *
 *   node --import tsx supervisor/testing/underRootPartRestriction.ts [--without CAP_X]... [--with CAP_Y]... -- COMMAND ARGS...
 */
import koffi from 'koffi';
import { keepStandardStreamsOnExec, ROOT_PART_CAPABILITY_NAMES, restrictRootPart } from '../sandbox/rootPartRestriction';
import type { CapabilityName } from '../system/selfRestriction';

const args = process.argv.slice(2);
const split = args.indexOf('--');
if (split < 0 || split === args.length - 1) {
  process.stderr.write('usage: underRootPartRestriction.ts [--without CAP_X]... -- COMMAND ARGS...\n');
  process.exit(2);
}
const option = (name: string) => args.slice(0, split).flatMap((a, i, all) => (all[i - 1] === name ? [a as CapabilityName] : []));
const without = option('--without');
const keep = [...ROOT_PART_CAPABILITY_NAMES.filter((name) => !without.includes(name)), ...option('--with')];
if (restrictRootPart(keep) !== 'restricted') {
  process.stderr.write('underRootPartRestriction: not root, nothing to restrict\n');
  process.exit(2);
}
const command = args.slice(split + 1);
const execvp = koffi.load('libc.so.6').func('int execvp(const char *, const char **)') as unknown as (file: string, argv: (string | null)[]) => number;
keepStandardStreamsOnExec();
execvp(command[0]!, [...command, null]);
process.stderr.write(`underRootPartRestriction: cannot run ${command[0]}: errno ${koffi.errno()}\n`);
process.exit(127);
