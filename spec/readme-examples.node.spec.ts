import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';
import * as rxjsTesting from 'rxjs/testing';
import * as permits from '../src/index.js';
import * as permitsTesting from '../src/testing/index.js';
import * as permitsRedis from '../src/redis/index.js';
import * as ioredis from 'ioredis';
import { redisUrl } from './redis/redis-helpers.js';
import { workerThreadsForExamples } from './shared/worker-host.js';

// Executes every ```ts block of README.md against the sources, so the examples cannot rot.
// A block's `// logs: <text>` comments list, in order, the lines its console.log calls must print
// (arguments joined by spaces). A block preceded by `<!-- readme: skip -->` is not run (used only
// for fragments that need a browser framework); `<!-- readme: wait=N -->` waits N ms of real time
// for its timers before comparing (and, on a loaded machine, up to 10 s for the lines it says it logs).

interface Example {
  line: number;
  code: string;
  wait: number;
  skip: boolean;
}

function readmeExamples(): Example[] {
  const readme = fs.readFileSync(path.resolve(__dirname, '..', 'README.md'), 'utf8');
  const examples: Example[] = [];
  const fence = /(?:<!--\s*readme:\s*([^>]*?)\s*-->\s*\n)?```ts\n([\s\S]*?)```/g;
  for (const match of readme.matchAll(fence)) {
    const directive = match[1] ?? '';
    const wait = /wait=(\d+)/.exec(directive);
    examples.push({
      line: readme.slice(0, match.index).split('\n').length,
      code: match[2],
      wait: wait ? Number(wait[1]) : 0,
      skip: /\bskip\b/.test(directive),
    });
  }
  return examples;
}

function expectedLogs(code: string): string[] {
  return [...code.matchAll(/\/\/ logs: (.*)$/gm)].map((m) => m[1].trim());
}

function format(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (Array.isArray(value) || (value !== null && typeof value === 'object')) return JSON.stringify(value);
  return String(value);
}

const modules: Record<string, unknown> = {
  'rxjs-permits': permits,
  'rxjs-permits/testing': permitsTesting,
  'rxjs-permits/redis': permitsRedis,
  ioredis: ioredis,
  rxjs: rxjs,
  'rxjs/operators': rxjsOperators,
  'rxjs/testing': rxjsTesting,
  // Real threads; their `require('rxjs-permits')` loads a bundle of src/ (SharedSemaphore examples).
  'node:worker_threads': workerThreadsForExamples(),
};

async function run(example: Example): Promise<string[]> {
  const js = ts.transpileModule(example.code, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const logs: string[] = [];
  const fakeConsole = { log: (...args: unknown[]) => logs.push(args.map(format).join(' ')) };
  const fakeRequire = (name: string) => {
    if (!(name in modules))
      throw new Error(`README example imports ${name}, which the harness does not provide`);
    return modules[name];
  };
  const exports = {};
  new Function('require', 'console', 'exports', js)(fakeRequire, fakeConsole, exports);
  // Real timers: wait for the lines the example says it logs (on a loaded machine its timers fire
  // late), for at least its `wait` and at most 10 s; then one more task for any line too many.
  const expected = expectedLogs(example.code).length;
  const started = Date.now();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  while (Date.now() - started < example.wait || (logs.length < expected && Date.now() - started < 10_000)) {
    await sleep(Math.min(10, Math.max(1, example.wait)));
  }
  await sleep(0);
  return logs;
}

describe('README examples', () => {
  const examples = readmeExamples();

  // The Redis examples read REDIS_URL: the test run's redis-server.
  beforeAll(async () => {
    process.env.REDIS_URL = await redisUrl();
  });

  it('exist, and most state what they log', () => {
    expect(examples.length).toBeGreaterThan(5);
    expect(examples.filter((e) => expectedLogs(e.code).length > 0).length).toBeGreaterThan(
      examples.length / 2,
    );
  });

  for (const example of examples) {
    if (example.skip) continue;
    it(`README.md line ${example.line} runs and logs what it says`, async () => {
      const logs = await run(example);
      expect(logs).toEqual(expectedLogs(example.code));
    });
  }

  it('names only npm scripts and the package that exist in its shell blocks', () => {
    const root = path.resolve(__dirname, '..');
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const shell = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
    const scripts = [...shell.matchAll(/\bnpm (?:run (\S+)|(test))\b/g)].map((m) => m[1] ?? m[2]);
    expect(scripts).toContain('test');
    expect(scripts.filter((name) => !(name in pkg.scripts))).toEqual([]);
    const installed = [...shell.matchAll(/\bnpm install ([^#\n]+)/g)].flatMap((m) =>
      m[1].trim().split(/\s+/),
    );
    expect(installed).toContain(pkg.name);
    expect(installed.filter((name) => name !== pkg.name && !(name in pkg.peerDependencies))).toEqual([]);
  });

  it('the harness compares logs (it can fail)', async () => {
    const logs = await run({ line: 0, code: 'console.log(1 + 1); // logs: 3\n', wait: 0, skip: false });
    expect(logs).not.toEqual(expectedLogs('console.log(1 + 1); // logs: 3\n'));
  });
});
