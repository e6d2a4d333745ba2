'use strict';
// Lets Node `require` the TypeScript sources directly (CommonJS, transpile-only: types are checked
// by `tsc --noEmit`). Used by the Node test run, the benchmarks and the demo.
require('ts-node').register({
  transpileOnly: true,
  experimentalResolver: true,
  compilerOptions: { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' },
});
