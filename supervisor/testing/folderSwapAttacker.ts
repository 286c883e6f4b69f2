/**
 * The folder-swap attacker of the root-removal race tests (proxyFolderRace, partFolderRace): a
 * process of the folder's owner fills a subfolder `d` with 20,000 names and a victim's name well
 * after the first, says `ready`, and, once root's first unlink there says root has its list, swaps
 * the subfolder for a link to the victim's folder (`swapped`): a remover that follows it unlinks
 * the victim. It works by relative paths from inside the folder, so a folder renamed aside takes it
 * along. Written to a file the owner can read and run with `node FILE`:
 *   victimDir victimName [inner] [controller]
 * `inner`: the folder to work in (else the working directory); `controller`: a pid killed (SIGKILL)
 * before `ready` (a taken-over worker killing its controller).
 */
export const FOLDER_SWAP_ATTACKER = `
import { mkdirSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const [victimDir, victimName, inner, controller] = process.argv.slice(2);
if (inner) process.chdir(inner);
const sub = 'd';
mkdirSync(sub);
writeFileSync(join(sub, victimName), '');
for (let i = 0; i < 20000; i++) writeFileSync(join(sub, 'f' + i), '');
// Node's rmSync lists the folder in the same order as we do: the victim well after the first name.
const order = readdirSync(sub);
if (order.indexOf(victimName) < 100) { console.log('unlucky'); process.exit(3); }
if (controller) process.kill(Number(controller), 'SIGKILL');
console.log('ready');
// The folder's first unlink (whichever name: find may go in inode order) says root has its list.
const listed = statSync(sub).mtimeMs;
while (statSync(sub).mtimeMs === listed) {}
renameSync(sub, 'moved');
symlinkSync(victimDir, sub);
console.log('swapped');
setInterval(() => {}, 1000);
`;
