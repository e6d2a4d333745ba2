import * as fs from 'fs';
import * as path from 'path';

// SPEC §3: the permit engine under src/core/ must not depend on RxJS, so that Promises, RxJS and
// future backends can all adapt to it. Runs in Node only (it reads the source tree).
describe('src/core/', () => {
  const coreDir = path.resolve(__dirname, '..', 'src', 'core');

  function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(full);
      return /\.(ts|js|mts|cts)$/.test(entry.name) ? [full] : [];
    });
  }

  /** Every module specifier a file imports, requires or re-exports. */
  function specifiers(source: string): string[] {
    const found: string[] = [];
    const patterns = [
      /\bimport\s+(?:type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
      /\bexport\s+[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
      /\bimport\s*['"]([^'"]+)['"]/g,
      /\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    ];
    for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]);
    return found;
  }

  it('has source files to check', () => {
    expect(sourceFiles(coreDir).length).toBeGreaterThan(3);
  });

  it('imports nothing from rxjs', () => {
    const offenders = sourceFiles(coreDir).flatMap((file) =>
      specifiers(fs.readFileSync(file, 'utf8'))
        .filter((spec) => spec === 'rxjs' || spec.startsWith('rxjs/'))
        .map((spec) => `${path.relative(coreDir, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it('imports nothing outside src/ but Node-free relative modules', () => {
    const offenders = sourceFiles(coreDir).flatMap((file) =>
      specifiers(fs.readFileSync(file, 'utf8'))
        .filter((spec) => !spec.startsWith('.'))
        .map((spec) => `${path.relative(coreDir, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it('detects an rxjs import (the check can fail)', () => {
    expect(specifiers(`import { Observable } from 'rxjs';`)).toEqual(['rxjs']);
    expect(specifiers(`import type { Subscriber } from "rxjs/internal/Subscriber";`)).toEqual([
      'rxjs/internal/Subscriber',
    ]);
    expect(specifiers(`const x = require('rxjs');`)).toEqual(['rxjs']);
    expect(specifiers(`export { map } from 'rxjs/operators';`)).toEqual(['rxjs/operators']);
  });
});
