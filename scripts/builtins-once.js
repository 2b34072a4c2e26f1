'use strict';
// `import * as fs from 'node:fs'` in a CJS bundle becomes `__toESM(require('node:fs'))` in every
// importing module: a fresh copy of ~100 property getters each time, 30 times for fs alone. One
// small ESM module per builtin (`export * from 'node:fs'`) makes that copy once per builtin.
// Node 24, medians of 30 interleaved runs: the hook of a new worktree 70.3 → 64.3 ms CPU;
// instructions (callgrind) hook 195 → 174 M, `status --json` 158 → 149 M.
// Only the builtins src/ imports as namespaces, and only import statements: a named import
// (`{ parseArgs } from 'node:util'`) or a require() is a plain require already, and copying
// node:util's properties would materialise its lazy ones (TextDecoder, the stdio streams: ~7 ms).
const builtinsOnce = {
  name: 'builtins-once',
  setup(build) {
    build.onResolve({ filter: /^node:(fs|path|os|net|http)$/ }, (args) =>
      args.kind === 'import-statement' && args.namespace !== 'builtin-once' ? { path: args.path, namespace: 'builtin-once' } : { path: args.path, external: true },
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin-once' }, (args) => ({ contents: `export * from ${JSON.stringify(args.path)};`, loader: 'js' }));
  },
};

module.exports = { builtinsOnce };
