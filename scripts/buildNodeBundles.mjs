// Bundles the Node-side programs (supervisor, admin CLI, Electron main and preload) into out/.
// Electron's main and preload are CommonJS: a sandboxed preload cannot be ESM.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { asciiBundle } from './asciiBundle.mjs';
import { buildNativeProgram, buildOpensslPreinit, CARD_RECORD_RELAY_OUTPUT, CARD_RECORD_RELAY_SOURCE, GSS_STUB_OUTPUT, GSS_STUB_SOURCE, NAME_SERVICE_IDS_OUTPUT, OPENSSL_PREINIT_OUTPUT, WORKER_MODULE_INIT_OUTPUT, WORKER_MODULE_INIT_SOURCE, WORKER_PREFAULT_OUTPUT, WORKER_PREFAULT_SOURCE } from './buildOpensslPreinit.mjs';

const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning' };
// The programs that stay resident for a session (the manager, the parts, the root supervisor): V8
// keeps each one's whole source for its life (lazy compilation, Function.prototype.toString), one byte a
// character; without its blank space, indentation and comments, and its syntax folded (names kept as
// written, so stack traces still read), the manager's and the cloison part's weigh ~0.4 and ~0.6 MB
// less each (bench/RESULTS.md, apps-memory). Their source maps still point into the sources.
const resident = { ...common, minifyWhitespace: true, minifySyntax: true };
// koffi loads its native module from its own package folder: it ships in node_modules, unbundled.
const native = ['koffi'];

// The manager's chunks of an earlier build (it was split in chunks before its code cache).
mkdirSync('out/supervisor', { recursive: true });
for (const name of readdirSync('out/supervisor', { withFileTypes: true }).filter((e) => /^cageManager-.*\.js(\.map)?$/.test(e.name))) rmSync(join('out/supervisor', name.name));

await Promise.all([
  build({ ...resident, entryPoints: ['supervisor/rootPartEntry.ts'], outfile: 'out/supervisor/main.js', format: 'esm', external: native,
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } }),
  // The browser part, started by the supervisor as its unprivileged child (supervisor/browserPart/).
  build({ ...resident, entryPoints: ['supervisor/browserPart/partMain.ts'], outfile: 'out/supervisor/browserPart.js', format: 'esm', external: native,
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } }),
  // The sound part, the supervisor's unprivileged relay of the cages' sound (supervisor/audio/soundPart.ts).
  build({ ...resident, entryPoints: ['supervisor/audio/soundPartMain.ts'], outfile: 'out/supervisor/soundPart.js', format: 'esm', external: native,
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } }),
  // The split (#29): the root cage manager, and the supervisor as its unprivileged `cloison` part.
  // Its entry restricts the manager, which executes itself again (rootPartRestriction.ts), before it
  // loads the rest (cageManagerMain.cjs, with its code cache, below): the first image then parses the
  // entry's small bundle only, not the manager's 1.4 MB twice (its start is the split's critical path).
  build({ ...resident, entryPoints: ['supervisor/cageManager/managerEntry.ts'], outfile: 'out/supervisor/cageManager.js', format: 'esm', external: native,
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } }),
  build({ ...resident, entryPoints: ['supervisor/cageManager/managerCode.ts'], outfile: 'out/supervisor/cageManagerMain.cjs', format: 'cjs', external: native,
    define: { 'import.meta.url': '__cloisonBundleUrl' }, banner: { js: "var __cloisonBundleUrl = require('node:url').pathToFileURL(__filename).href;" } }),
  // The cloison part: its entry (it restricts itself, then loads the rest), and the rest as CommonJS
  // (cloisonPartMain.cjs), which loads with the V8 code cache written below (supervisor/codeCache/).
  build({ ...resident, entryPoints: ['supervisor/cloisonPartEntry.ts'], outfile: 'out/supervisor/cloisonPart.js', format: 'esm', external: native,
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } }),
  build({ ...resident, entryPoints: ['supervisor/cloisonPartCode.ts'], outfile: 'out/supervisor/cloisonPartMain.cjs', format: 'cjs', external: native,
    define: { 'import.meta.url': '__cloisonBundleUrl' }, banner: { js: "var __cloisonBundleUrl = require('node:url').pathToFileURL(__filename).href;" } }),
  build({ ...common, entryPoints: ['supervisor/codeCache/writeCodeCache.ts'], outfile: 'out/build/writeCodeCache.mjs', format: 'esm', external: native,
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } }),
  build({ ...common, entryPoints: ['supervisor/cli/cloison.ts'], outfile: 'out/cli/cloison.js', format: 'esm', external: native,
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } }),
  build({ ...common, entryPoints: ['electron/main.ts'], outfile: 'out/electron/main.cjs', format: 'cjs', external: ['electron'] }),
  build({ ...common, entryPoints: ['electron/preload.ts'], outfile: 'out/electron/preload.cjs', format: 'cjs', external: ['electron'], platform: 'node' }),
]);

// Every bundle in ASCII: V8 holds a source with one character beyond Latin-1 at two bytes a character
// (asciiBundle.mjs).
for (const file of ['out/supervisor/main.js', 'out/supervisor/browserPart.js', 'out/supervisor/soundPart.js', 'out/supervisor/cageManager.js', 'out/supervisor/cageManagerMain.cjs', 'out/supervisor/cloisonPart.js', 'out/supervisor/cloisonPartMain.cjs', 'out/cli/cloison.js']) asciiBundle(file);

// The native helpers first: the code caches' writer below runs the bundles, whose policy reading
// asks nameServiceIds.
// The card proxy's OpenSSL pre-initialisation (a native library, preloaded into pkcs11proxyd): an
// optional speed-up, so a machine without gcc or libssl-dev still builds the rest.
const preinit = buildOpensslPreinit();
if (preinit) console.warn(`${OPENSSL_PREINIT_OUTPUT} not built (scripts/setup.sh installs gcc and libssl-dev); the card proxy will start without it: ${preinit}`);
// Its workers' page tables filled at their fork (native/workerPrefault.c): the same kind of speed-up.
const prefault = buildOpensslPreinit(WORKER_PREFAULT_SOURCE, WORKER_PREFAULT_OUTPUT);
if (prefault) console.warn(`${WORKER_PREFAULT_OUTPUT} not built (scripts/setup.sh installs gcc); the card proxy will start without it: ${prefault}`);
// Its waiting worker's module initialised while it waits, its view kept valid (native/workerModuleInit.c): the same kind of speed-up.
const moduleInit = buildOpensslPreinit(WORKER_MODULE_INIT_SOURCE, WORKER_MODULE_INIT_OUTPUT);
if (moduleInit) console.warn(`${WORKER_MODULE_INIT_OUTPUT} not built (scripts/setup.sh installs gcc); the card proxy will start without it: ${moduleInit}`);
// The cages' card client without Kerberos needs its GSS-API stub (native/gssStub.c, cardClientModule.ts).
const gssStub = buildOpensslPreinit(GSS_STUB_SOURCE, GSS_STUB_OUTPUT);
if (gssStub) console.warn(`${GSS_STUB_OUTPUT} not built (scripts/setup.sh installs gcc); the cages will load Debian's card client: ${gssStub}`);
// The name service look-up that tells "not found" from "unavailable" (native/nameServiceIds.c): without
// it no cage or card proxy uid can be told nobody's, so none starts (system/accounts.ts says why).
const nameServiceIds = buildNativeProgram();
if (nameServiceIds) console.warn(`${NAME_SERVICE_IDS_OUTPUT} not built (scripts/setup.sh installs gcc): no cage or card proxy will start: ${nameServiceIds}`);
// The card guard's relay (native/cardRecordRelay.c, smartcard/cardRecordRelay.ts): without it the guard relays in Node.
const recordRelay = buildNativeProgram(CARD_RECORD_RELAY_SOURCE, CARD_RECORD_RELAY_OUTPUT);
if (recordRelay) console.warn(`${CARD_RECORD_RELAY_OUTPUT} not built (scripts/setup.sh installs gcc); the card guard will relay in Node: ${recordRelay}`);

// The code caches of the cloison part and of the cage manager, from the bundles as they now are
// (ASCII): written by the build alone, in the code root runs (supervisor/codeCache/loadWithCodeCache.ts).
// Without one, its bundle is compiled from its source at each start.
for (const bundle of ['out/supervisor/cloisonPartMain.cjs', 'out/supervisor/cageManagerMain.cjs']) {
  rmSync(`${bundle}.cache`, { force: true });
  const cacheWriter = spawnSync(process.execPath, ['out/build/writeCodeCache.mjs', bundle], { stdio: 'inherit' });
  if (cacheWriter.status !== 0) console.warn(`${bundle}.cache not written: its code will be compiled at each start`);
}
// The writer is no part of what ships (the package takes out/ whole).
rmSync('out/build', { recursive: true, force: true });

// The file helper runs inside per-cage sandboxes as a plain script: it ships next to the supervisor.
mkdirSync('out/supervisor', { recursive: true });
copyFileSync('supervisor/files/fileHelper.mjs', 'out/supervisor/fileHelper.mjs');
// So does the cage launcher, which runs inside every bwrap cage.
copyFileSync('supervisor/cages/cageLauncherInCage.mjs', 'out/supervisor/cageLauncherInCage.mjs');
copyFileSync('supervisor/files/convert/pixelHelper.mjs', 'out/supervisor/pixelHelper.mjs');

// The app icon (rendered from assets/icon.svg) for the Electron window.
cpSync('assets/icons', 'out/icons', { recursive: true });
