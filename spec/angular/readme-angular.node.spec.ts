import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

// The README's Angular section: its ```ts blocks are files of one small app (each starts with
// `// name.ts`) that import one another, Angular and the package. They are marked
// `<!-- readme: skip -->` for spec/readme-examples.node.spec.ts (they need an Angular app to run),
// and type-checked here against Angular's own types, as an Angular CLI app compiles them
// (`experimentalDecorators`, strict). Their behaviour is what the other specs of spec/angular test.
const root = path.resolve(__dirname, '..', '..');
const appDir = path.join(root, '.readme-angular-app'); // never written: the files live in memory

interface Block {
  file: string;
  line: number;
  code: string;
}

function angularBlocks(readme: string): Block[] {
  const start = readme.indexOf('\n## Angular\n');
  if (start < 0) return [];
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => ({
    file: /^\/\/ ([\w.-]+\.ts)\n/.exec(match[1])?.[1] ?? '',
    line: readme.slice(0, start + match.index).split('\n').length, // the fence's line
    code: match[1],
  }));
}

function typeErrors(blocks: Block[]): string[] {
  const files = new Map(blocks.map((block) => [path.join(appDir, block.file), block]));
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.esnext.disposable.d.ts'],
    strict: true,
    experimentalDecorators: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    paths: {
      'rxjs-permits': [path.join(root, 'src', 'index.ts')],
      'rxjs-permits/angular': [path.join(root, 'src', 'angular', 'index.ts')],
      'rxjs-permits/testing': [path.join(root, 'src', 'testing', 'index.ts')],
    },
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile, directoryExists } = host;
  host.directoryExists = (dir) => dir === appDir || (directoryExists?.call(host, dir) ?? true);
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file)?.code ?? readFile.call(host, file);
  host.getSourceFile = (file, language, ...rest) => {
    const block = files.get(file);
    return block
      ? ts.createSourceFile(file, block.code, language)
      : getSourceFile.call(host, file, language, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file === undefined || files.has(diagnostic.file.fileName))
    .map((diagnostic) => {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      if (!diagnostic.file || diagnostic.start === undefined) return message;
      const block = files.get(diagnostic.file.fileName)!;
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      return `README.md:${block.line + 1 + line} (${block.file}): ${message}`;
    });
}

describe("README's Angular examples", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const blocks = angularBlocks(readme);

  it('exist, each named after its file, and are skipped by the runner of the other examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(blocks.filter((block) => block.file === '').map((block) => block.line)).toEqual([]);
    const lines = readme.split('\n');
    // `<!-- readme: skip -->`, a blank line, then the fence.
    const unmarked = blocks.filter((block) => !/readme:\s*skip/.test(lines[block.line - 3] ?? ''));
    expect(unmarked.map((block) => block.line)).toEqual([]);
  });

  it('type-check against Angular and the sources', () => {
    expect(typeErrors(blocks)).toEqual([]);
  });

  it('the check can fail', () => {
    const wrong: Block = {
      file: 'wrong.ts',
      line: 1,
      code: "// wrong.ts\nimport { permitInterceptor } from 'rxjs-permits/angular';\npermitInterceptor(4);\n",
    };
    expect(typeErrors([wrong]).length).toBeGreaterThan(0);
  });
});
