import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// noVNC 1.7 uses a top-level await: the build target must allow it.
export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./out/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'esnext',
    sourcemap: true,
    // Everything inline-free so the strict CSP (no 'unsafe-inline') holds.
    assetsInlineLimit: 0,
    // Two pages: the trusted shell, and the viewer each cage's frame loads from an origin of its own.
    rollupOptions: {
      input: {
        shell: fileURLToPath(new URL('./renderer/index.html', import.meta.url)),
        viewer: fileURLToPath(new URL('./renderer/viewer.html', import.meta.url)),
      },
    },
  },
  optimizeDeps: { esbuildOptions: { target: 'esnext' } },
});
