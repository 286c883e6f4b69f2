/**
 * The unprivileged parts' bundles carry only what they run: none of the supervisor's big
 * dependencies (zod, yaml, pino), whose code and heap each Node process would otherwise hold for its
 * life (zod alone: 8 MiB private in a bare Node). Bundled as buildNodeBundles.mjs bundles them.
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const PARTS = { 'the sound part': 'supervisor/audio/soundPartMain.ts', 'the browser part': 'supervisor/browserPart/partMain.ts' };

describe('the parts\' bundles', () => {
  for (const [part, entry] of Object.entries(PARTS)) {
    it(`${part} carries no zod, yaml or pino`, async () => {
      const out = await build({ bundle: true, platform: 'node', target: 'node20', format: 'esm', external: ['koffi'], entryPoints: [entry], write: false, metafile: true, outfile: 'out/part.js', logLevel: 'silent' });
      // What the bundle holds (the metafile's inputs list every file visited, even shaken out).
      const held = Object.entries(Object.values(out.metafile.outputs).find((o) => o.entryPoint)!.inputs).filter(([, v]) => v.bytesInOutput > 0).map(([f]) => f);
      const packages = new Set(held.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean));
      expect([...packages].filter((p) => ['zod', 'yaml', 'pino'].includes(p!))).toEqual([]);
      expect(out.outputFiles.find((f) => f.path.endsWith('.js'))!.contents.length).toBeLessThan(400_000);
    });
  }

  it('the cloison part carries no ws: the gateway runs in the browser part, and ws and the Node modules it loads were evaluated on the way to its start (#26)', async () => {
    const out = await build({ bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['koffi'], entryPoints: ['supervisor/cloisonPartCode.ts'], write: false, metafile: true, outfile: 'out/part.cjs', logLevel: 'silent' });
    const held = Object.entries(Object.values(out.metafile.outputs).find((o) => o.entryPoint)!.inputs).filter(([, v]) => v.bytesInOutput > 0).map(([f]) => f);
    expect(held.filter((f) => /node_modules\/ws\/|supervisor\/gateway\/(vncGateway|gatewayWarmUp)\.ts$/.test(f))).toEqual([]);
  });
});
