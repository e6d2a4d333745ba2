'use strict';
// The Angular demo's build and server. `npm run demo:angular` builds examples/angular/main.ts with
// esbuild (into a temporary folder) and serves it on 127.0.0.1 with an `/api` that answers slowly,
// counting the requests in flight; open the printed URL and press the button (`?gate=off` compares
// with no gate). scripts/e2e-angular.js drives the same server in Chromium.
const esbuild = require('esbuild');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { URL } = require('url');

const root = path.resolve(__dirname, '..', '..');

/** Bundles the app into `outDir` (main.js and index.html); the package resolves to its sources. */
async function buildApp(outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    outfile: path.join(outDir, 'main.js'),
    alias: {
      'rxjs-permits/angular': path.join(root, 'src', 'angular', 'index.ts'),
      'rxjs-permits': path.join(root, 'src', 'index.ts'),
    },
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(__dirname, 'index.html'), path.join(outDir, 'index.html'));
}

/**
 * Serves the built app and a slow `/api/item/:id` on `host:port` (port 0: a free one). Returns the
 * URL, what the API saw (`stats()`: most in flight, arrivals in order with their `X-Gate-Order`
 * header), `reset()` and `close()`.
 */
async function startDemo({ outDir, host = '127.0.0.1', port = 0, delayMs = 200 } = {}) {
  const dir = outDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-permits-angular-demo-'));
  await buildApp(dir);
  let state;
  const reset = () => {
    state = { inFlight: 0, maxInFlight: 0, arrivals: [], completed: 0, firstAt: null, lastAt: null };
  };
  reset();
  const files = { '/': 'index.html', '/index.html': 'index.html', '/main.js': 'main.js' };
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const item = /^\/api\/item\/(\d+)$/.exec(url.pathname);
    if (item) {
      const at = Date.now();
      state.firstAt ??= at;
      state.inFlight += 1;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      const seen = {
        id: Number(item[1]),
        gateOrder: Number(req.headers['x-gate-order']),
        inFlight: state.inFlight,
      };
      state.arrivals.push(seen);
      setTimeout(() => {
        state.inFlight -= 1;
        state.completed += 1;
        state.lastAt = Date.now();
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ id: seen.id, inFlight: seen.inFlight }));
      }, delayMs);
      return;
    }
    const file = files[url.pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)], 'cache-control': 'no-store' });
    fs.createReadStream(path.join(dir, file)).pipe(res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    url: `http://${host}:${address.port}/`,
    stats: () => ({ ...state, arrivals: [...state.arrivals] }),
    reset,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          if (outDir === undefined) fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

module.exports = { buildApp, startDemo };

if (require.main === module) {
  const portArg = process.argv.indexOf('--port');
  const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 0;
  startDemo({ port }).then(
    (demo) => {
      console.log(`Angular demo on ${demo.url} (gate off: ${demo.url}?gate=off); Ctrl-C stops it`);
      for (const signal of ['SIGINT', 'SIGTERM'])
        process.on(signal, () => demo.close().then(() => process.exit(0)));
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
