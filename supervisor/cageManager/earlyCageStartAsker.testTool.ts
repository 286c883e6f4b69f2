/**
 * Test tool, run as the `cloison` account beside the running part: asks the manager one
 * `cage.start` (argv: socket, level, uid) and prints its answer or refusal as one JSON line.
 */
import type { CloisonError } from '../../shared/errors';
import { CageManagerClient } from './cageManagerClient';

const [socket, level, uid] = process.argv.slice(2);
const client = await CageManagerClient.connect(socket!);
try {
  console.log(JSON.stringify({ result: await client.request({ op: 'cage.start', level: level!, uid: Number(uid) }) }));
} catch (err) {
  console.log(JSON.stringify({ error: (err as Error).message, code: (err as CloisonError).code }));
}
client.close();
