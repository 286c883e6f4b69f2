/**
 * `cloison`: the administrator's command line.
 *   cloison policy check FILE     validate a policy; prints the effective policy or every problem
 *   cloison audit verify FILE     check the journal's hash chain; exit 1 on any edit/removal/reorder
 */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { readHead, verifyJournal } from '../audit/auditJournal';
import { loadPolicyFile, PolicyError } from '../policy/policyLoader';

const USAGE = 'usage: cloison policy check FILE | cloison audit verify FILE';

export function runCli(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  const [area, verb, file, ...rest] = argv;
  if (!file || rest.length > 0) {
    err(USAGE);
    return 64;
  }
  if (area === 'policy' && verb === 'check') {
    try {
      const policy = loadPolicyFile(file);
      out(`${file}: policy is valid (${policy.levels.length} levels)\n--- effective policy ---\n${stringify(policy)}`);
      return 0;
    } catch (e) {
      if (e instanceof PolicyError) {
        err(e.message);
        return 1;
      }
      throw e;
    }
  }
  if (area === 'audit' && verb === 'verify') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      err(`${file}: cannot read: ${(e as Error).message}`);
      return 1;
    }
    const result = verifyJournal(text, readHead(file));
    if (result.ok) {
      out(`${file}: ${result.count} records, chain intact`);
      return 0;
    }
    err(`${file}: ${result.error}`);
    return 1;
  }
  err(USAGE);
  return 64;
}

if (process.argv[1] && /cloison(\.js|\.ts)?$/.test(process.argv[1])) {
  process.exitCode = runCli(process.argv.slice(2), (s) => console.log(s), (s) => console.error(s));
}
