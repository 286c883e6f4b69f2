/**
 * npm run bench [-- NAME]: runs the benchmarks (each compares Cloison with its reference tool in
 * the same run), prints medians, spread and ratios, and writes bench/results/NAME.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fmt, median } from './lib/stats';
import { holdDisplay, type DisplayHold } from './lib/displayHold';
import { runGatewayBench } from './gateway.bench';
import { runGatewayColdBench } from './gatewayCold.bench';
import { runLevelSwitchBench } from './levelSwitch.bench';
import { runFileBrokerBench } from './fileBroker.bench';
import { runStartupBench } from './startup.bench';
import { runComposedKeyBench, runKeyToGlyphBench } from './keyToGlyph.bench';
import { runMotionBench } from './motion.bench';
import { runAudioBench } from './audio.bench';
import { runSoundFloodBench } from './soundFlood.bench';
import { runSupervisorRestartBench } from './supervisorRestart.bench';
import { runConvertBench } from './convert.bench';
import { runAppsStartBench } from './appsStart.bench';
import { runSplitStartBench } from './splitStart.bench';
import { runAppsMemoryBench } from './appsMemory.bench';
import { runFirefoxScrollBench } from './firefoxScroll.bench';
import { runSmartcardSignBench } from './smartcardSign.bench';
import { runInflateBench } from './inflate.bench';

/** Per run: the cage's Xvnc and the viewer side together, CPU ms per frame. */
// The benchmarks that read the trusted side's processes (startup, motion, apps-memory, firefox-scroll,
// the product sessions) know the single root supervisor's; npm start's default is now the split,
// measured beside it by gateway-split and split-start (their --split wins). CLOISON_SPLIT=1 runs the rest split.
process.env.CLOISON_SPLIT ??= '0';

const wholePath = (f: { cpuMsPerFrame: number[]; serverCpuMsPerFrame: number[] }) => f.cpuMsPerFrame.map((v, i) => v + f.serverCpuMsPerFrame[i]!);

const BENCHES: Record<string, () => Promise<{ result: unknown; ratios: Record<string, number> }>> = {
  gateway: async () => {
    const r = await runGatewayBench((s) => console.log(s));
    const c = r.synthetic.cloison!;
    const w = r.synthetic.websockify!;
    return {
      result: r,
      ratios: {
        'throughput cloison/websockify (≥ 1.0)': median(c.mibPerS) / median(w.mibPerS),
        'CPU per GiB cloison/websockify (≤ 1.0)': median(c.cpuSecPerGiB) / median(w.cpuSecPerGiB),
        'added latency p50 cloison/websockify (≤ 1.0)': r.latency.cloison!.p50 / r.latency.websockify!.p50,
        'added latency p99 cloison/websockify (≤ 1.0)': r.latency.cloison!.p99 / r.latency.websockify!.p99,
        'round trip p99 through cloison/through websockify (≤ 1.0)': r.latency.cloison!.roundTripP99 / r.latency.websockify!.roundTripP99,
        'added latency p99 cloison/websockify, cold (first round trips after start, without the warm-up: see gateway-cold)': r.latencyCold.cloison!.p99 / r.latencyCold.websockify!.p99,
        'added latency p50 cloison/bare Node relay (the control)': r.latency.cloison!.p50 / r.latency['bare-node-relay']!.p50,
        'real Xvnc throughput cloison/websockify (≥ 1.0)': median(r.xvnc.cloison!.mibPerS) / median(r.xvnc.websockify!.mibPerS),
      },
    };
  },
  'gateway-split': async () => {
    // #29: the split supervisor's gateway (manager → cloison part → browser child), today's goals unchanged.
    const r = await runGatewayBench((s) => console.log(s), { split: true });
    const split = r.synthetic['cloison-split']!;
    const root = r.synthetic.cloison!;
    const w = r.synthetic.websockify!;
    return {
      result: r,
      ratios: {
        'split: throughput cloison/websockify (≥ 1.0)': median(split.mibPerS) / median(w.mibPerS),
        'split: CPU per GiB cloison/websockify (≤ 1.0)': median(split.cpuSecPerGiB) / median(w.cpuSecPerGiB),
        'split: added latency p50 cloison/websockify (≤ 1.0)': r.latency['cloison-split']!.p50 / r.latency.websockify!.p50,
        'split: added latency p99 cloison/websockify (≤ 1.0)': r.latency['cloison-split']!.p99 / r.latency.websockify!.p99,
        'split: round trip p99 through cloison/through websockify (≤ 1.0)': r.latency['cloison-split']!.roundTripP99 / r.latency.websockify!.roundTripP99,
        'split: real Xvnc throughput cloison/websockify (≥ 1.0)': median(r.xvnc['cloison-split']!.mibPerS) / median(r.xvnc.websockify!.mibPerS),
        'root (before the split): throughput cloison/websockify': median(root.mibPerS) / median(w.mibPerS),
        'root (before the split): CPU per GiB cloison/websockify': median(root.cpuSecPerGiB) / median(w.cpuSecPerGiB),
        'root (before the split): added latency p99 cloison/websockify': r.latency.cloison!.p99 / r.latency.websockify!.p99,
        'root (before the split): real Xvnc throughput cloison/websockify': median(r.xvnc.cloison!.mibPerS) / median(r.xvnc.websockify!.mibPerS),
        'split/root throughput': median(split.mibPerS) / median(root.mibPerS),
        'split/root CPU per GiB': median(split.cpuSecPerGiB) / median(root.cpuSecPerGiB),
        'split/root added latency p99': r.latency['cloison-split']!.p99 / r.latency.cloison!.p99,
      },
    };
  },
  'gateway-cold': async () => {
    const r = await runGatewayColdBench((s) => console.log(s));
    const p99 = (name: string) => median(r.starts[name]!.map((s) => s.p99));
    return {
      result: r,
      ratios: {
        'cold added p99 cloison (warmed up after start-up)/websockify (≤ 2.0)': p99('cloison') / p99('websockify'),
        'cold added p99 cloison with its warm-up running beside/websockify': p99('cloison, warming up beside') / p99('websockify'),
        'cold added p99 cloison without warm-up/websockify': p99('cloison, no warm-up') / p99('websockify'),
      },
    };
  },
  'smartcard-sign': async () => {
    const r = await runSmartcardSignBench((s) => console.log(s));
    return {
      result: r,
      ratios: {
        'pkcs11-tool --sign through the proxy/on the token directly (≤ 1.5)': median(r.wholeMs.proxy) / median(r.wholeMs.direct),
        'one signature in a session through the proxy/directly (≤ 1.5)': median(r.perSignMs.proxy) / median(r.perSignMs.direct),
        'pkcs11-tool --sign through the proxy without the OpenSSL pre-initialisation/directly': median(r.wholeMs.proxyNoPreinit) / median(r.wholeMs.direct),
        "pkcs11-tool --sign through the proxy with Debian's client (Kerberos loaded)/directly": median(r.wholeMs.proxyDebianClient) / median(r.wholeMs.direct),
        "pkcs11-tool --sign through the proxy, ours/Debian's client, median of the rounds' ratios": median(r.wholeMs.proxy.map((ms, i) => ms / r.wholeMs.proxyDebianClient[i]!)),
        'pkcs11-tool --sign through the proxy without the workers\' page-table fill/directly': median(r.wholeMs.proxyNoPrefault) / median(r.wholeMs.direct),
        'pkcs11-tool --sign through the proxy with/without the workers\' page-table fill, median of the rounds\' ratios': median(r.wholeMs.proxy.map((ms, i) => ms / r.wholeMs.proxyNoPrefault[i]!)),
        'the proxy\'s CPU per pkcs11-tool --sign, with/without the workers\' page-table fill': r.proxyCpuMsPerRun.camlCrush / r.proxyCpuMsPerRun.noPrefault,
        'pkcs11-tool --sign through Caml Crush alone, no guard/directly': median(r.wholeMs.camlCrush) / median(r.wholeMs.direct),
        'one signature through Caml Crush alone, no guard/directly': median(r.perSignMs.camlCrush) / median(r.perSignMs.direct),
        'pkcs11-tool --sign through Caml Crush without the module preloaded/directly': median(r.wholeMs.camlCrushUnloaded) / median(r.wholeMs.direct),
        'pkcs11-tool --sign through p11-kit server (no filter)/directly': median(r.wholeMs.p11kit) / median(r.wholeMs.direct),
        'one signature through p11-kit server (no filter)/directly': median(r.perSignMs.p11kit) / median(r.perSignMs.direct),
        'module loaded to C_Initialize done, Caml Crush with/without the module preloaded (both OCaml\'s default GC)': median(r.openMs.camlCrushDefaultGc) / median(r.openMs.camlCrushUnloaded),
        // Round by round (the two ran within a second of each other): less at the mercy of the load's swings.
        'pkcs11-tool --sign, Caml Crush with/without the module preloaded (both OCaml\'s default GC), median of the rounds\' ratios': median(r.wholeMs.camlCrushDefaultGc.map((ms, i) => ms / r.wholeMs.camlCrushUnloaded[i]!)),
        'pkcs11-tool --sign, Caml Crush alone with/without PROXY_OCAML_GC, median of the rounds\' ratios': median(r.wholeMs.camlCrush.map((ms, i) => ms / r.wholeMs.camlCrushDefaultGc[i]!)),
        'one signature, Caml Crush alone with/without PROXY_OCAML_GC': median(r.perSignMs.camlCrush) / median(r.perSignMs.camlCrushDefaultGc),
        'the proxy\'s CPU per pkcs11-tool --sign, with/without PROXY_OCAML_GC': r.proxyCpuMsPerRun.camlCrush / r.proxyCpuMsPerRun.camlCrushDefaultGc,
      },
    };
  },
  convert: async () => {
    const r = await runConvertBench((s) => console.log(s));
    return {
      result: r,
      ratios: {
        '20-page PDF s/page cloison/bare pdftoppm + rebuild (≤ 1.25)': median(r.pdf.cloison) / median(r.pdf.bare),
        '5-page DOCX s/page cloison/bare LibreOffice + pdftoppm + rebuild (≤ 1.25)': median(r.docx.cloison) / median(r.docx.bare),
        '20-page PDF whole path, seconds (< 15)': median(r.pdf.cloison) * r.pdf.pages,
      },
    };
  },
  'file-broker': async () => {
    const r = await runFileBrokerBench((s) => console.log(s));
    return { result: r, ratios: { 'file broker / (cp + sha256sum) throughput (≥ 0.8)': median(r.broker) / median(r.reference) } };
  },
  'key-to-glyph': async () => {
    const r = await runKeyToGlyphBench((s) => console.log(s), { levers: process.argv.includes('--levers') });
    return {
      result: r,
      ratios: {
        'key to glyph median cloison/websockify (≤ 1.0)': r.cloison!.median / r.websockify!.median,
        'key to glyph p95 cloison/websockify (≤ 1.0)': r.cloison!.p95 / r.websockify!.p95,
        'key to glyph median cloison/8 ms (≤ 1.0)': r.cloison!.median / 8,
        'key to glyph p95 cloison/16.7 ms (≤ 1.0)': r.cloison!.p95 / (1000 / 60),
        'key to glyph median cloison/floor (plain Xvfb)': r.cloison!.median / r.floor!.median,
        'CPU per key cloison/websockify': r.cloison!.cpuMsPerKey / r.websockify!.cpuMsPerKey,
        'CPU at idle cloison/websockify': r.cloison!.idleCpuPercent / r.websockify!.idleCpuPercent,
      },
    };
  },
  'key-to-glyph-composed': async () => {
    const r = await runComposedKeyBench((s) => console.log(s));
    return {
      result: r,
      ratios: {
        'key to glyph median composed (^e → ê)/plain letter (≤ 1.1)': r.composed.median / r.plain.median,
        'key to glyph median composed/8 ms (≤ 1.0)': r.composed.median / 8,
      },
    };
  },
  motion: async () => {
    const at = process.argv.indexOf('--xvnc');
    const r = await runMotionBench((s) => console.log(s), at > 0 ? { xvncUpdates: process.argv[at + 1]!.split(' ') } : {});
    return {
      result: r,
      ratios: {
        'frames per second shell/vncviewer (≥ 0.9)': median(r.shell.fps) / median(r.vncviewer.fps),
        'viewer CPU per frame shell/vncviewer (≤ 1.2)': median(r.shell.cpuMsPerFrame) / median(r.vncviewer.cpuMsPerFrame),
        // Both ends run on the workstation: what each frame costs it, the cage's encoding included.
        'whole path CPU per frame (Xvnc + viewer) shell/vncviewer': median(wholePath(r.shell)) / median(wholePath(r.vncviewer)),
      },
    };
  },
  audio: async () => {
    const r = await runAudioBench((s) => console.log(s));
    return {
      result: r,
      ratios: {
        'sound latency median cage→host / pacat→host': median(r.latencyMs.cloison) / median(r.latencyMs.pacat),
        'sound CPU per stream relay / pacat': r.cpuMsPerSecond.cloison / r.cpuMsPerSecond.pacat,
      },
    };
  },
  'sound-flood': async () => {
    const r = await runSoundFloodBench((s) => console.log(s));
    return { result: r, ratios: { 'supervisor RPC p95, cage flooding its sound / idle (≤ 1.25)': r.floodedP95 / r.idleP95 } };
  },
  'supervisor-restart': async () => {
    const r = await runSupervisorRestartBench((s) => console.log(s));
    return { result: r, ratios: { 'supervisor restart with re-adoption / cold start, to both viewers (≤ 0.5)': median(r.restartMs) / median(r.coldMs) } };
  },
  startup: async () => {
    const r = await runStartupBench((s) => console.log(s));
    return {
      result: r,
      ratios: {
        'start-up time cloison (driven Chromium) / two bare Xvnc (the floor)': median(r.cloisonMs) / median(r.bareMs),
        'start-up time cloison (driven Chromium) / 1.5 s (≤ 1.0)': median(r.cloisonMs) / 1500,
        ...(r.productMs.length ? { 'start-up time as npm start runs it / 1.5 s (≤ 1.0)': (median(r.productMs) + r.productHandshakeGapMs) / 1500 } : {}),
      },
    };
  },
  'apps-start': async () => {
    const r = await runAppsStartBench((s) => console.log(s));
    return {
      result: r,
      ratios: {
        'start → both cages painted (each cage\'s first full frame in the shell), cloison / 2.0 s (≤ 1.0)': median(r.cagesMs) / 2000,
        'start → both cages painted, cloison / two bare Xvnc answering RFB (the floor)': median(r.cagesMs) / median(r.bareXvncMs),
        'start → both applications painted in their cages, cloison / 2.0 s (≤ 1.0)': median(r.appsInCageMs) / 2000,
        'start → both applications painted in their cages, cloison / two bare Xvnc with the same applications': median(r.appsInCageMs) / median(r.bareAppsMs),
        'start → both applications seen in the shell, cloison / 2.0 s (≤ 1.0)': median(r.appsInShellMs) / 2000,
      },
    };
  },
  'split-start': async () => {
    const r = await runSplitStartBench((s) => console.log(s));
    const of = (mode: string) => r.runs.filter((run) => run.mode === mode).map((run) => run.cagesMs);
    return {
      result: r,
      ratios: {
        'start → both cages painted, split / root, median of the pairs (≤ 1.10)': median(r.pairRatios),
        'start → both cages painted, split median / root median': median(of('split')) / median(of('root')),
      },
    };
  },
  'apps-memory': async () => {
    const r = await runAppsMemoryBench((s) => console.log(s));
    const share = (m: { trusted: number; helpers: number; cages: number }, withHelpers: boolean) => (m.trusted + (withHelpers ? m.helpers : 0)) / (m.trusted + m.helpers + m.cages);
    // Both readings; the goal is the issue's, with the default applications open.
    const ratiosOf = (m: typeof r.defaultsOpen, when: string) => ({
      [`memory (PSS) trusted side (supervisor, shell, cage helpers) / total, ${when}`]: share(m.pssMiB, true),
      [`memory (PSS) supervisor and shell only / total, ${when}`]: share(m.pssMiB, false),
      [`memory (RSS, shared pages counted in each process) trusted side / total, ${when}`]: share(m.rssMiB, true),
      [`memory (USS, private pages only) trusted side / total, ${when}`]: share(m.ussMiB, true),
      [`memory (private dirty pages: what each process wrote, whatever else runs) trusted side / total, ${when}`]: share(m.dirtyMiB, true),
      [`memory (PSS without files: heaps and shared memory, no program code) trusted side / total, ${when}`]: share(m.ownPssMiB, true),
    });
    return {
      result: r,
      ratios: {
        'memory (PSS) trusted side / total with the default applications open, the issue\'s reading (≤ 0.25)': share(r.defaultsOpen.pssMiB, true),
        ...ratiosOf(r.defaultsOpen, 'the default applications open'),
        ...ratiosOf(r.autostarted, 'autostarted applications only (not the issue\'s reading)'),
      },
    };
  },
  inflate: async () => {
    const r = await runInflateBench((s) => console.log(s));
    return {
      result: r,
      ratios: {
        "Tight inflate in Chromium, a scroll's rectangles, ms per update fflate (tightInflator.ts)/pako (noVNC's) (< 1.0: faster)": median(r.rounds.map((x) => x.fflateMsPerUpdate)) / median(r.rounds.map((x) => x.pakoMsPerUpdate)),
        "Tight inflate in Chromium, a scroll's rectangles, CPU ms per update fflate/pako": median(r.rounds.map((x) => x.fflateCpuMsPerUpdate)) / median(r.rounds.map((x) => x.pakoCpuMsPerUpdate)),
      },
    };
  },
  'firefox-scroll': async () => {
    const r = await runFirefoxScrollBench((s) => console.log(s));
    return {
      result: r,
      ratios: {
        // Frames are Xvnc's updates to each viewer (counted in Xvnc, the same code for both): the goal's.
        'Firefox scroll frames (Xvnc updates) per second shell/vncviewer (≥ 1.0)': median(r.shell.fps) / median(r.vncviewer.fps),
        'Firefox scroll whole path CPU per update (Xvnc + viewer) shell/vncviewer (≤ 1.2)': median(wholePath(r.shell)) / median(wholePath(r.vncviewer)),
        'Firefox scroll frames shown at 60 Hz per second shell/vncviewer': median(r.shell.shownPerSecond) / median(r.vncviewer.shownPerSecond),
        'Firefox scroll whole path CPU per frame shown at 60 Hz shell/vncviewer': median(r.shell.wholeCpuMsPerShown) / median(r.vncviewer.wholeCpuMsPerShown),
        "Firefox scroll viewers' own paints per second shell/vncviewer (flips / put calls)": median(r.shell.paintsPerSecond) / median(r.vncviewer.paintsPerSecond),
        'Firefox scroll viewer-side CPU per update shell/vncviewer': median(r.shell.cpuMsPerFrame) / median(r.vncviewer.cpuMsPerFrame),
        // The second reference, like for like: vncviewer asking what the shell asks (lossless Tight, no JPEG). Not the goal's.
        'Firefox scroll frames (Xvnc updates) per second shell/vncviewer asking lossless Tight (like for like; not the goal\'s reference)': median(r.shell.fps) / median(r.vncviewerLossless.fps),
        'Firefox scroll whole path CPU per update (Xvnc + viewer) shell/vncviewer asking lossless Tight (like for like; not the goal\'s reference)': median(wholePath(r.shell)) / median(wholePath(r.vncviewerLossless)),
      },
    };
  },
  'level-switch': async () => {
    const r = await runLevelSwitchBench((s) => console.log(s));
    return {
      result: r,
      ratios: {
        'level switch p95, idle / one 60 Hz frame (≤ 1.0)': r.idle.p95 / (1000 / 60),
        'level switch p95, flooded / one 60 Hz frame (≤ 1.0)': r.flooded.p95 / (1000 / 60),
        'level switch p95, flooded / idle (≤ 1.25)': r.flooded.p95 / r.idle.p95,
      },
    };
  },
};

const wanted = process.argv.slice(2).filter((a, i, all) => !a.startsWith('-') && all[i - 1] !== '--xvnc');
const names = wanted.length ? wanted : Object.keys(BENCHES);
mkdirSync('bench/results', { recursive: true });
const machine = { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) };
console.log(`machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB`);
// One client kept on the display for the whole run: xvfb-run's server, left with none between two
// probes, resets, and drops a Chromium connecting then (lib/displayHold.ts, issue #26).
const hold: DisplayHold | null = process.env.DISPLAY ? await holdDisplay() : null;
for (const name of names) {
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== ${name}`);
  const { result, ratios } = await bench();
  for (const [label, value] of Object.entries(ratios)) console.log(`  ratio ${label}: ${fmt(value)}`);
  writeFileSync(`bench/results/${name}.json`, JSON.stringify({ name, date: new Date().toISOString(), machine, ratios, result }, null, 2) + '\n');
}
hold?.release();
