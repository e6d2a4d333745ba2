// The main-thread side of spec/shared/*.node.spec.ts: starts real worker_threads running
// ./worker-thread.ts (through ts-node, as the Node test run does) and waits on their messages.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { SharedSemaphore } from '../../src/index.js';
import type { Command, Report } from './worker-thread.js';

const script = path.resolve(__dirname, 'worker-thread.ts');
const bundles = new Map<string, string>();

/**
 * `entry` and the sources it imports, bundled by esbuild into one CommonJS file in a temporary
 * folder, once per run: a worker then starts in milliseconds instead of loading ts-node and
 * TypeScript (seconds). The worker's copy of the library shares nothing with this thread's but the
 * SharedArrayBuffer, as in an app.
 */
export function bundled(entry: string): string {
  const known = bundles.get(entry);
  if (known !== undefined) return known;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-permits-workers-'));
  const outfile = path.join(dir, `${path.basename(entry, '.ts')}.js`);
  esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'error',
  });
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  bundles.set(entry, outfile);
  return outfile;
}

/** ./worker-thread.ts, bundled. */
export function workerScript(): string {
  return bundled(script);
}

/**
 * `node:worker_threads` for the README's examples: the real module, whose `Worker` runs eval'd code
 * with `require('rxjs-permits')` resolved to a bundle of src/index.ts — what an installed package
 * would give a worker (the harness maps the import the same way in the main thread).
 */
export function workerThreadsForExamples(): typeof import('worker_threads') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const real = require('worker_threads') as typeof import('worker_threads');
  const library = bundled(path.resolve(__dirname, '..', '..', 'src', 'index.ts'));
  const hook =
    "const Module = require('module'); const resolve = Module._resolveFilename;" +
    `Module._resolveFilename = function (request, ...rest) { return request === 'rxjs-permits' ? ${JSON.stringify(library)} : resolve.call(this, request, ...rest); };\n`;
  class ExampleWorker extends real.Worker {
    constructor(code: string | URL, options?: import('worker_threads').WorkerOptions) {
      super(options?.eval === true ? hook + String(code) : code, options);
    }
  }
  return { ...real, Worker: ExampleWorker };
}

/** Shared counters for the workers of one spec (see worker-thread.ts), with room for `log` grants. */
export function sharedCounters(log = 1024): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (3 + log)));
}

export class TestWorker {
  readonly worker: Worker;
  /** The worker's thread id, recorded before it exits (it reads -1 afterwards). */
  threadId = -1;
  /** Resolves with the exit code when the thread has exited. */
  readonly exited: Promise<number>;
  private readonly backlog: Report[] = [];
  private readonly waiting: { match: (r: Report) => boolean; resolve: (r: Report) => void }[] = [];
  private nextId = 1;

  private constructor(semaphore: SharedSemaphore, counters: Int32Array, index: number) {
    this.worker = new Worker(workerScript(), {
      workerData: { handle: semaphore.handle, counters: counters.buffer, index },
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.on('message', (report: Report) => this.receive(report));
    this.worker.on('error', (error) => {
      throw error;
    });
  }

  /** Starts a worker attached to `semaphore`; resolves once it is attached. */
  static async start(semaphore: SharedSemaphore, counters: Int32Array, index = 0): Promise<TestWorker> {
    const worker = new TestWorker(semaphore, counters, index);
    const ready = await worker.report((r) => r.event === 'ready');
    worker.threadId = (ready as Extract<Report, { event: 'ready' }>).threadId;
    return worker;
  }

  /** Sends a command (a fresh id unless given) and returns its id. */
  send(command: DistributiveOmit<Command, 'id'> & { id?: number }): number {
    const id = command.id ?? this.nextId++;
    this.worker.postMessage({ ...command, id });
    return id;
  }

  /** The next report of request `id` (of kind `event`, when given), waited for as a message. */
  next<E extends Report['event']>(id: number, event?: E): Promise<Extract<Report, { event: E }>> {
    return this.report((r) => r.id === id && (event === undefined || r.event === event)) as Promise<
      Extract<Report, { event: E }>
    >;
  }

  /** Sends a command and waits for its 'done' report's result. */
  async call(command: DistributiveOmit<Command, 'id'> & { id?: number }): Promise<unknown> {
    const id = this.send(command);
    return (await this.next(id, 'done')).result;
  }

  /** Asks for a lease and waits until the worker's request is queued (or granted at once). */
  async lease(options: { permits?: number; timeout?: number; priority?: number } = {}): Promise<number> {
    const id = this.send({ cmd: 'lease', ...options });
    await this.next(id, 'queued');
    return id;
  }

  terminate(): Promise<number> {
    void this.worker.terminate();
    return this.exited;
  }

  private report(match: (r: Report) => boolean): Promise<Report> {
    const index = this.backlog.findIndex(match);
    if (index >= 0) return Promise.resolve(this.backlog.splice(index, 1)[0]);
    return new Promise((resolve) => this.waiting.push({ match, resolve }));
  }

  private receive(report: Report): void {
    const index = this.waiting.findIndex((w) => w.match(report));
    if (index >= 0) this.waiting.splice(index, 1)[0].resolve(report);
    else this.backlog.push(report);
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
