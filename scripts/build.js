'use strict';
// `npm run build`: ESM to dist/esm and CommonJS to dist/cjs, each with its .d.ts files and a
// package.json that tells Node which module system the folder uses.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
for (const [config, dir, type] of [
  ['tsconfig.build.json', 'esm', 'module'],
  ['tsconfig.build-cjs.json', 'cjs', 'commonjs'],
]) {
  execFileSync(process.execPath, [tsc, '-p', config], { cwd: root, stdio: 'inherit' });
  fs.writeFileSync(path.join(root, 'dist', dir, 'package.json'), JSON.stringify({ type }, null, 2) + '\n');
}
console.log('built dist/esm and dist/cjs');
