import { defineConfig } from 'vitest/config';

// CI asks for a JSON report too (MMSIM_VITEST_JSON), to print its counts line.
const json = process.env['MMSIM_VITEST_JSON'];

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
});
