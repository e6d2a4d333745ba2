'use strict';
// End to end (step "angular e2e" of `npm test`): the Angular demo of examples/angular, served on
// 127.0.0.1 (a free port) with an `/api` that answers after 200 ms, in Debian's Chromium driven by
// playwright-core (no browser download: CHROME_BIN). The button fires 12 requests; the server must
// never see more than the limit (3) in flight, the requests must leave the gate in FIFO order, and
// the page must show the free permits as they change (recorded in the page by a MutationObserver).
// The same run without the gate (`?gate=off`) gives the figure to compare. Screenshots go to
// .test-results/angular-e2e/ (gitignored). Prints the figures and the plain `N passed, N failed`.
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const { find } = require('./system-deps');
const { startDemo } = require('../examples/angular/server');
/* global document, window, MutationObserver -- the functions given to page.evaluate run in the page */

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, '.test-results', 'angular-e2e');
const LIMIT = 3;
const REQUESTS = 12;

const checks = [];
function check(name, ok, detail) {
  checks.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail === undefined ? '' : `: ${detail}`}`);
}

async function runPage(browser, demo, query) {
  demo.reset();
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  await page.goto(demo.url + query);
  await page.waitForSelector('#fire');
  // Every text the free-permit counter shows, in order, from now on.
  await page.evaluate(() => {
    const free = document.querySelector('#free');
    window.freeSeen = [free.textContent.trim()];
    new MutationObserver(() => window.freeSeen.push(free.textContent.trim())).observe(free, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
  const started = Date.now();
  await page.click('#fire');
  if (query === '') {
    // Mid-run: every permit taken, the rest queued.
    await page.waitForFunction(() => document.querySelector('#free').textContent.trim() === '0', null, {
      timeout: 30_000,
    });
    await page.screenshot({ path: path.join(outDir, 'gate-on-busy.png'), fullPage: true });
  }
  await page.waitForFunction(
    (n) => document.querySelector('#count').textContent.trim() === `${n} done`,
    REQUESTS,
    {
      timeout: 30_000,
    },
  );
  const durationMs = Date.now() - started;
  const freeSeen = await page.evaluate(() => window.freeSeen);
  return { page, errors, durationMs, freeSeen, stats: demo.stats() };
}

async function main() {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const executablePath = find('chromium');
  if (!executablePath) throw new Error("no Chromium: install Debian's chromium or set CHROME_BIN");
  const demo = await startDemo({ delayMs: 200 });
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  try {
    const gated = await runPage(browser, demo, '');
    await gated.page.screenshot({ path: path.join(outDir, 'gate-on.png'), fullPage: true });
    const ids = gated.stats.arrivals.map((a) => a.id);
    const gateOrder = [...gated.stats.arrivals].sort((a, b) => a.gateOrder - b.gateOrder).map((a) => a.id);
    const expectedIds = Array.from({ length: REQUESTS }, (_, i) => i);
    console.log(
      `gate on: ${REQUESTS} requests, most in flight at the server ${gated.stats.maxInFlight}, ` +
        `${gated.durationMs} ms; left the gate in order ${gateOrder.join(',')}; arrived in order ${ids.join(',')}; ` +
        `free permits shown ${gated.freeSeen.join(' ')}`,
    );
    check('the server saw every request once', [...ids].sort((a, b) => a - b).join() === expectedIds.join());
    check(`never more than ${LIMIT} in flight`, gated.stats.maxInFlight <= LIMIT, gated.stats.maxInFlight);
    check(`the limit was used (${LIMIT} at once)`, gated.stats.maxInFlight === LIMIT);
    check(
      'requests left the gate in FIFO order',
      gateOrder.join() === expectedIds.join(),
      gateOrder.join(','),
    );
    const shown = gated.freeSeen.map(Number);
    check(
      'the page showed the free permits as they changed',
      shown[0] === LIMIT &&
        shown.includes(0) &&
        shown[shown.length - 1] === LIMIT &&
        shown.every((n) => n >= 0 && n <= LIMIT),
      gated.freeSeen.join(' '),
    );
    check('no error in the page', gated.errors.length === 0, gated.errors.join(' | ') || undefined);

    const ungated = await runPage(browser, demo, '?gate=off');
    await ungated.page.screenshot({ path: path.join(outDir, 'gate-off.png'), fullPage: true });
    console.log(
      `gate off: most in flight at the server ${ungated.stats.maxInFlight} (Chromium opens at most 6 ` +
        `connections per host), ${ungated.durationMs} ms`,
    );
    check(
      'without the gate, more were in flight',
      ungated.stats.maxInFlight > LIMIT,
      ungated.stats.maxInFlight,
    );
    console.log(`screenshots in ${path.relative(root, outDir)}/`);
  } finally {
    await browser.close();
    await demo.close();
  }
}

main()
  .catch((error) => check('the e2e run', false, error.stack || error.message))
  .finally(() => {
    const failed = checks.filter((c) => !c.ok).length;
    const out = process.env.PERMITS_RESULTS_FILE;
    if (out) {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, JSON.stringify({ passed: checks.length - failed, failed, skipped: 0 }));
    }
    console.log(`angular e2e: ${checks.length - failed} passed, ${failed} failed`);
    process.exitCode = failed > 0 ? 1 : 0;
  });
