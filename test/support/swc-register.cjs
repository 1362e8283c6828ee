// Lets a child process run the TypeScript sources directly (`node -r ./test/support/swc-register.cjs src/main.ts`),
// compiled on load by @swc/core with the same options jest uses: tests need no `npm run build`.
const { readFileSync } = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = function compile(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
