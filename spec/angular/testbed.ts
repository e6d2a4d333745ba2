// Angular's TestBed without the CLI: JIT (so `@angular/compiler` is loaded before any component is
// compiled), zoneless, no zone.js. A function, not a bare import, because `"sideEffects": false` in
// package.json lets esbuild drop an import kept only for its effects; each karma bundle has its own
// TestBed, so each spec file calls it in `beforeAll`.
import { VERSION as COMPILER_VERSION } from '@angular/compiler';
import { provideZonelessChangeDetection, type EnvironmentProviders, type Provider } from '@angular/core';
import { TestBed, getTestBed } from '@angular/core/testing';
import { BrowserTestingModule, platformBrowserTesting } from '@angular/platform-browser/testing';

export function initAngularTestBed(): void {
  if (typeof document === 'undefined') {
    throw new Error(
      'spec/angular needs a DOM: in Node, run it through `node scripts/test.js "angular node suite"` (jsdom)',
    );
  }
  if (COMPILER_VERSION.major === '') throw new Error('@angular/compiler did not load');
  if (getTestBed().platform !== null) return; // another spec file of this run set it up
  getTestBed().initTestEnvironment(BrowserTestingModule, platformBrowserTesting(), {
    teardown: { destroyAfterEach: true },
  });
}

/** `TestBed.configureTestingModule` with zoneless change detection and `providers`. */
export function configureZoneless(providers: (Provider | EnvironmentProviders)[]): void {
  TestBed.configureTestingModule({ providers: [provideZonelessChangeDetection(), ...providers] });
}
