'use strict';
// Prints the functions with the most self time in V8 .cpuprofile files (from `node --cpu-prof`),
// with --callers NAME the callers of the functions whose name contains NAME, and with --lines NAME
// the hottest source lines (self time) of those functions.
//
//   node bench/top-self.js /tmp/permits-prof/*.cpuprofile [--top 30] [--callers NAME] [--lines NAME]

const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
let top = 30;
let callersOf = null;
let linesOf = null;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') top = Number(args[++i]);
  else if (args[i] === '--callers') callersOf = args[++i];
  else if (args[i] === '--lines') linesOf = args[++i];
  else files.push(args[i]);
}
if (files.length === 0) {
  console.error('usage: node bench/top-self.js FILE.cpuprofile... [--top N] [--callers NAME]');
  process.exit(2);
}

const root = path.resolve(__dirname, '..');
const where = (cf) => {
  const url = decodeURIComponent(cf.url.replace(/^file:\/\//, ''));
  // Files of another checkout (PERMITS_BENCH_BASELINE) keep enough of their path to tell them apart.
  const file = url.startsWith(root)
    ? path.relative(root, url)
    : /\/src\//.test(url)
      ? url.slice(url.lastIndexOf('/', url.indexOf('/src/') - 1) + 1)
      : path.basename(url);
  return file ? `${file}:${cf.lineNumber + 1}` : '';
};

for (const file of files) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  const dts = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (dts[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id).callFrame;
    const key = `${cf.functionName || '(anonymous)'}  ${where(cf)}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  console.log(`\n${path.basename(file)}: ${(total / 1000).toFixed(0)} ms sampled`);
  const sorted = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, us] of sorted) {
    console.log(
      `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`,
    );
  }
  if (linesOf) {
    const lines = new Map();
    for (const n of profile.nodes) {
      const cf = n.callFrame;
      if (!(cf.functionName || '').includes(linesOf) || !n.positionTicks) continue;
      for (const { line, ticks } of n.positionTicks) {
        const key = `${where({ ...cf, lineNumber: line - 1 })} (${cf.functionName})`;
        lines.set(key, (lines.get(key) ?? 0) + ticks);
      }
    }
    const ticks = [...lines.values()].reduce((a, b) => a + b, 0);
    console.log(`\nhottest lines of *${linesOf}* (${ticks} ticks):`);
    for (const [key, t] of [...lines].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
      console.log(`${((100 * t) / ticks).toFixed(1).padStart(5)}%  ${key}`);
    }
  }
  if (callersOf) {
    const callers = new Map();
    for (const [id, us] of selfUs) {
      const cf = byId.get(id).callFrame;
      if (!(cf.functionName || '').includes(callersOf)) continue;
      const chain = [];
      let p = parent.get(id);
      while (p !== undefined && chain.length < 4) {
        const pf = byId.get(p).callFrame;
        chain.push(`${pf.functionName || '(anonymous)'} ${where(pf)}`);
        p = parent.get(p);
      }
      const key = chain.join(' < ');
      callers.set(key, (callers.get(key) ?? 0) + us);
    }
    console.log(`\ncallers of *${callersOf}*:`);
    for (const [key, us] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
      console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
    }
  }
}
