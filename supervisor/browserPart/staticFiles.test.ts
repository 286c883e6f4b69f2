/**
 * What the browser part holds of the built renderer for its whole life (staticFiles.ts): every file
 * the shell and the viewers load, and not the source maps vite writes beside the scripts (only
 * DevTools asks for them; the shell has none).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readStaticFiles } from './staticFiles';

describe('the built renderer held by the browser part', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('holds the pages, scripts and styles, not their source maps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloison-static-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'assets'));
    const built: Record<string, string> = {
      'index.html': '<script type="module" src="./assets/shell-1.js"></script>',
      'viewer.html': '<script type="module" src="./assets/viewer-1.js"></script>',
      'assets/shell-1.js': 'export {};\n//# sourceMappingURL=shell-1.js.map',
      'assets/shell-1.js.map': JSON.stringify({ version: 3, sources: ['../../renderer/shell.tsx'], mappings: 'A'.repeat(100_000) }),
      'assets/viewer-1.js': 'export {};\n//# sourceMappingURL=viewer-1.js.map',
      'assets/viewer-1.js.map': JSON.stringify({ version: 3, sources: ['../../renderer/viewer.ts'], mappings: 'A'.repeat(50_000) }),
      'assets/shell-1.css': 'body{}',
    };
    for (const [path, text] of Object.entries(built)) writeFileSync(join(dir, path), text);
    const files = readStaticFiles(dir);
    expect([...files.keys()].sort()).toEqual(['assets/shell-1.css', 'assets/shell-1.js', 'assets/viewer-1.js', 'index.html', 'viewer.html']);
    expect(files.get('assets/shell-1.js')!.toString()).toBe(built['assets/shell-1.js']);
    expect([...files.values()].reduce((sum, b) => sum + b.length, 0)).toBeLessThan(1000);
  });
});
