/**
 * Test tool, run as the cage manager's `cloison` part (cageManager/cloisonPart.ts) compromised once
 * restricted: it writes a line forging the supervisor's log and a terminal escape to its stderr,
 * forks a sleeper in a session of its own (setsid: out of its process group), says ready with the
 * sleeper's pid, and stays.
 */
import { spawn } from 'node:child_process';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { managerChannel } from '../cageManager/socketHandOver';

restrictCloisonPart();
process.stderr.write('{"level":30,"msg":"cage high stopped","component":"supervisor"}\n\x1b[2J\x1b]0;root\x07\n');
const sleeper = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
sleeper.unref();
managerChannel().send({ type: 'ready', sleeper: sleeper.pid });
setInterval(() => undefined, 60_000);
