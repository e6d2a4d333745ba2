'use strict';
// Node only (a jasmine helper of the "angular node suite" step): gives spec/angular a DOM, jsdom's,
// as globals, the way a browser has them. Not loaded by the other Node suites.
const { JSDOM } = require('jsdom');

const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', {
  url: 'http://localhost/',
  pretendToBeVisual: true, // requestAnimationFrame, which Angular's scheduler may use
});
const { window } = dom;
for (const key of Object.getOwnPropertyNames(window)) {
  if (key in globalThis) continue;
  Object.defineProperty(globalThis, key, {
    configurable: true,
    get: () => window[key],
  });
}
