import * as path from 'path';
import * as ts from 'typescript';

// Every export of the package root carries TSDoc: a summary, an @example, and — for the
// primitives and operators, which check their arguments — the errors they throw (@throws).
// TypeDoc (`npm run docs`) separately fails on any undocumented member or broken link.
describe('TSDoc of the public API', () => {
  const root = path.resolve(__dirname, '..');
  const program = ts.createProgram([path.join(root, 'src', 'index.ts')], {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    types: [],
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(path.join(root, 'src', 'index.ts'))!;
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(index)!).map((symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const declaration = target.declarations![0];
    return {
      name: symbol.name,
      isValue: (target.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Function)) !== 0,
      summary: ts.displayPartsToString(target.getDocumentationComment(checker)).trim(),
      tags: ts.getJSDocTags(declaration).map((tag) => tag.tagName.text),
    };
  });

  it('finds the exports', () => {
    expect(exported.map((e) => e.name)).toEqual(
      jasmine.arrayContaining([
        'Semaphore',
        'withPermit',
        'RLock',
        'reentrant',
        'PermitTimeoutError',
        'AcquireOptions',
      ]),
    );
  });

  it('gives every export a summary', () => {
    expect(exported.filter((e) => e.summary.length < 20).map((e) => e.name)).toEqual([]);
  });

  it('gives every exported class and function an @example', () => {
    expect(exported.filter((e) => e.isValue && !e.tags.includes('example')).map((e) => e.name)).toEqual([]);
  });

  it('names the errors of every primitive and operator (@throws)', () => {
    const errorClasses = /Error$/;
    expect(
      exported
        .filter((e) => e.isValue && !errorClasses.test(e.name))
        .filter((e) => !e.tags.includes('throws'))
        .map((e) => e.name),
    ).toEqual([]);
  });

  // TypeDoc drops a JSDoc-style type (`@throws {RangeError} ...`), so the error class is written
  // into the text, first: `{@link SomeError}` for this library's errors, `` `RangeError` `` or
  // `` `TypeError` `` for the built-ins.
  it('starts every @throws, on the exports and their members, with the error class TypeDoc keeps', () => {
    const ownErrors = exported.filter((e) => e.isValue && /Error$/.test(e.name)).map((e) => e.name);
    // `index!` names the root entry point's export from a page of another entry point (testing).
    const errorClassFirst = new RegExp(
      `^(\\{@link (index!)?(${ownErrors.join('|')})\\}|\`(RangeError|TypeError)\`)`,
    );
    const throwsTags: Array<{ where: string; text: string }> = [];
    const collect = (where: string, node: ts.Node) => {
      for (const tag of ts.getJSDocTags(node)) {
        if (tag.tagName.text !== 'throws') continue;
        // The source's own line: TypeScript parses `{@link X}` after @throws as a type expression.
        const text = node.getSourceFile().text.slice(tag.tagName.end).trimStart().split('\n')[0].trim();
        throwsTags.push({ where, text });
      }
    };
    for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(index)!)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      for (const declaration of target.declarations ?? []) {
        collect(symbol.name, declaration);
        if (ts.isClassDeclaration(declaration) || ts.isInterfaceDeclaration(declaration)) {
          for (const member of declaration.members) {
            const name = member.name && ts.isIdentifier(member.name) ? member.name.text : 'constructor';
            collect(`${symbol.name}.${name}`, member);
          }
        }
      }
    }
    expect(ownErrors).toContain('OverReleaseError');
    expect(throwsTags.map((t) => t.where)).toEqual(
      jasmine.arrayContaining(['Semaphore', 'BackendSemaphore.release', 'RLock.release', 'withPermit']),
    );
    expect(
      throwsTags.filter((t) => !errorClassFirst.test(t.text)).map((t) => `${t.where}: @throws ${t.text}`),
    ).toEqual([]);
  });
});
