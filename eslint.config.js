// Lint: the recommended JS and TypeScript rules, plus the house rules that
// catch what type checking does not (floating promises are left to review).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.dev/**', '.tools/**', 'tools/**', 'charts/**', 'bench/results/**', '**/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', {
        object: 'process', property: 'env',
        message: 'Only services/*/src/main.ts (and test/bench/script entry points) read the environment.',
      }],
    },
  },
  {
    files: ['services/*/src/main.ts', 'test/**', 'bench/**', 'scripts/**', 'packages/testbed/**', '**/test/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
