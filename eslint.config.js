// Lint: TypeScript rules plus the folder layering rule (shared/ imports only zod and itself, the
// renderer never reaches Node or the supervisor, and so on). Do not relax the layering rule.
import tseslint from 'typescript-eslint';
import layering from './scripts/eslint/layering.js';

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'test-results/**', 'dist/**', 'playwright-report/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,js,mjs}'],
    plugins: { cloison: { rules: { layering } } },
    rules: {
      'cloison/layering': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  { files: ['*.{js,ts,mjs}'], rules: { 'cloison/layering': 'off' } },
);
