/**
 * Builds the explorer (src/web) into dist/web: one page, the model bundled
 * in, no network at run time. `mmsim explore` serves the result.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'src/web',
  base: './',
  logLevel: 'warn',
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
});
