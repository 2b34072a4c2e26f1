'use strict';
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

// Imports run one way: commands → ops → (config, io) → core → errors; context/output are the plumbing
// between io and ops (docs/design.md, "Layers"). This sees static imports; test/unit/architecture.test.ts
// also checks `await import(...)` and file length.
const entryFiles = { regex: '^\\.\\.?/(argv|cli|main|api|index)$', message: 'Only the entry files (argv, cli, main, api, index) sit above the commands.' };
const restrict = (...patterns) => ['error', { patterns }];
const layerRules = [
  {
    files: ['src/commands/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        { regex: '^\\./|(^|/)commands(/|$)', message: 'A command never imports another command: move the shared step to src/ops/.' },
        entryFiles,
      ),
    },
  },
  {
    files: ['src/ops/**/*.ts'],
    rules: { 'no-restricted-imports': restrict({ regex: '(^|/)commands(/|$)', message: 'ops/ sits below the commands.' }, entryFiles) },
  },
  {
    files: ['src/io/**/*.ts', 'src/config/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        { regex: '(^|/)(ops|commands)(/|$)|^\\.\\./(context|output)$', message: 'io/ and config/ sit below ops and the context/output plumbing.' },
        entryFiles,
      ),
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        { regex: '^\\.\\./(io|ops|commands|config)(/|$)|^\\.\\./(context|output)$', message: 'core/ is pure: it imports only core/ and errors.' },
        { regex: '^(node:)?(fs|net|child_process)(/.*)?$', message: 'core/ is pure: file, network and process access belong in io/.' },
        entryFiles,
      ),
    },
  },
  {
    files: ['src/output.ts'],
    rules: { 'no-restricted-imports': restrict({ regex: '^\\./(context|config|io|ops|commands)(/|$)', message: 'output.ts is plumbing: it imports only core/ and errors.' }, entryFiles) },
  },
  {
    files: ['src/context.ts'],
    rules: { 'no-restricted-imports': restrict({ regex: '^\\./(ops|commands)(/|$)', message: 'context.ts is plumbing below ops and the commands.' }, entryFiles) },
  },
  {
    files: ['src/errors.ts'],
    rules: { 'no-restricted-imports': restrict({ regex: '^\\.', message: 'errors.ts is the bottom layer: it imports nothing from src/.' }) },
  },
];

module.exports = tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.dist-*/', '.dist-staging*/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { process: 'readonly', __dirname: 'readonly', require: 'readonly', module: 'writable', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  ...layerRules,
);
