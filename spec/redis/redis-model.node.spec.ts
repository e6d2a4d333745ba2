import { defer, lastValueFrom, timer } from 'rxjs';
import { finalize } from 'rxjs/operators';
import { withPermit } from '../../src/index.js';
import { RedisSemaphore, type RedisClient } from '../../src/redis/index.js';
import { forkChild, type Child, type ChildMessage } from './children.js';
import { command, ioredis, nodeRedis, redisUrl, uniqueKey } from './redis-helpers.js';

// Model-based runs against the real server (Node only), with random weighted requests and random
// priorities from a seeded generator (a failing seed replays: PERMITS_MODEL_SEEDS=7,8 npm test).
//
// In one process, several instances on connections of their own (both client libraries) with
// random holding times: the permits held at once never exceed the stored count, each instance's
// equal-priority 1-permit requests are granted in the order it made them, and nothing is lost.
//
// Across processes (forked children, redis-model-child.ts, driven by messages): the parent makes
// one step at a time — a request by some child, the release of some grant, a child closing its
// semaphore — and waits for its effects, so the order of arrival at Redis is the order of the
// steps. A model of the semaphore (a queue by priority, then arrival, strict head-of-line)
// predicts each step's grants: every grant reported must be one it predicted, and the server's free
// permits, queue and tickets must be the model's after each step. The parent checks that the
// permits held never exceed the stored count (counted from the reports, and by a counter in Redis
// that holders raise once granted and lower before they release), that grants follow arrival
// (for any two requests, the earlier of equal or higher priority has the lower fencing token —
// checked over pairs where the later one arrived while the earlier waited, so it cannot pass
// vacuously), and that nothing is lost once every process has closed its semaphore: every permit
// free, no queue, no ticket, no client left.

/** A small deterministic generator, so a failing run can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The seeds of the runs: PERMITS_MODEL_SEEDS (comma-separated) replays given ones. */
const seeds = process.env.PERMITS_MODEL_SEEDS?.split(',').map(Number) ?? [1, 2, 3];

describe('RedisSemaphore model-based run over several connections', () => {
  for (const seed of seeds) {
    it(`keeps the limit, per-instance FIFO, and loses nothing (seed ${seed})`, async () => {
      const url = await redisUrl();
      const next = random(seed);
      const key = uniqueKey('model');
      const permits = 3;
      const clients: RedisClient[] = [];
      const instances: RedisSemaphore[] = [];
      for (let i = 0; i < 4; i++) {
        const library = i % 2 === 0 ? ioredis : nodeRedis;
        const client = await library.connect(url);
        clients.push(client);
        instances.push(new RedisSemaphore(client, key, { permits, leaseMs: 3000 }));
      }
      let held = 0;
      let most = 0;
      const grantOrder = new Map<number, number[]>(); // instance -> order of its plain requests
      const jobs: Promise<unknown>[] = [];
      for (let n = 0; n < 40; n++) {
        const which = Math.floor(next() * instances.length);
        const weight = next() < 0.7 ? 1 : 2;
        const priority = next() < 0.8 ? 0 : 1;
        const hold = Math.floor(next() * 6);
        const plain = weight === 1 && priority === 0;
        const work = defer(() => {
          held += weight;
          most = Math.max(most, held);
          if (plain) grantOrder.set(which, [...(grantOrder.get(which) ?? []), n]);
          return timer(hold).pipe(finalize(() => (held -= weight)));
        });
        jobs.push(lastValueFrom(work.pipe(withPermit(instances[which]!, { permits: weight, priority }))));
      }
      await Promise.all(jobs);
      expect(most).toBeLessThanOrEqual(permits);
      expect(held).toBe(0);
      for (const order of grantOrder.values()) expect(order).toEqual([...order].sort((a, b) => a - b));
      for (const instance of instances) await instance.close();
      const base = `rxjs-permits:{${key}}`;
      expect(await command(clients[0]!, ['HGET', base, 'free'])).toEqual(jasmine.stringMatching(/^3$/));
      expect(Number(await command(clients[0]!, ['ZCARD', `${base}:queue`]))).toBe(0);
      expect(Number(await command(clients[0]!, ['HLEN', `${base}:tickets`]))).toBe(0);
      expect(Number(await command(clients[0]!, ['ZCARD', `${base}:clients`]))).toBe(0);
      await ioredis.close(clients[0]!);
      await nodeRedis.close(clients[1]!);
      await ioredis.close(clients[2]!);
      await nodeRedis.close(clients[3]!);
    });
  }
});

// ---------------------------------------------------------------------------------------------

/** One request of the multi-process run; `id` is its place in the order of arrival. */
interface Request {
  readonly id: number;
  readonly child: number;
  readonly permits: number;
  readonly priority: number;
}

/**
 * The semaphore as SPEC §2 describes it: free permits, a queue ordered by priority (high first),
 * then arrival, served strictly from the head. Each operation returns the requests it grants, in
 * the order it grants them.
 */
class SemaphoreModel {
  readonly held = new Map<number, Request>();
  queue: Request[] = [];

  constructor(public free: number) {}

  arrive(request: Request): Request[] {
    const ahead = this.queue.some((queued) => queued.priority >= request.priority);
    if (!ahead && request.permits <= this.free) return this.grant([request]);
    const at = this.queue.findIndex((queued) => queued.priority < request.priority);
    this.queue.splice(at < 0 ? this.queue.length : at, 0, request);
    return [];
  }

  release(id: number): Request[] {
    this.free += this.held.get(id)!.permits;
    this.held.delete(id);
    return this.pump();
  }

  /** A child closes: its grants come back, its queued requests leave. */
  close(child: number): { granted: Request[]; withdrawn: Request[] } {
    const withdrawn = this.queue.filter((request) => request.child === child);
    this.queue = this.queue.filter((request) => request.child !== child);
    for (const request of [...this.held.values()]) {
      if (request.child !== child) continue;
      this.free += request.permits;
      this.held.delete(request.id);
    }
    return { withdrawn, granted: this.pump() };
  }

  private pump(): Request[] {
    const granted: Request[] = [];
    while (this.queue.length > 0 && this.queue[0]!.permits <= this.free) {
      granted.push(...this.grant([this.queue.shift()!]));
    }
    return granted;
  }

  private grant(requests: Request[]): Request[] {
    for (const request of requests) {
      this.free -= request.permits;
      this.held.set(request.id, request);
    }
    return requests;
  }
}

describe('RedisSemaphore model-based run over several processes', () => {
  const CHILDREN = 3;
  const PERMITS = 3;
  const REQUESTS = 60;
  /** Forking children that compile TypeScript takes seconds on a loaded machine. */
  const TIMEOUT_MS = 60_000;

  let url: string;
  let admin: RedisClient;
  let children: Child[] = [];
  /** Messages the run does not await one at a time: grants and refusals, as they come. */
  let receive: (message: ChildMessage) => void = () => {};

  beforeAll(async () => {
    url = await redisUrl();
    admin = await ioredis.connect(url);
    children = Array.from({ length: CHILDREN }, () =>
      forkChild('redis-model-child.ts', {
        types: ['granted', 'refused'],
        receive: (message) => receive(message),
      }),
    );
  }, TIMEOUT_MS);

  afterAll(async () => {
    for (const child of children) {
      if (child.process.connected) child.send({ cmd: 'exit' });
      await child.exited;
    }
    await ioredis.close(admin);
  }, TIMEOUT_MS);

  for (const seed of seeds) {
    it(
      `never holds more than its permits, grants in order of arrival, loses nothing (seed ${seed})`,
      async () => {
        const next = random(seed);
        const key = uniqueKey('model-processes');
        const base = `rxjs-permits:{${key}}`;
        const counter = `${key}:held`;
        const model = new SemaphoreModel(PERMITS);
        const requests: Request[] = [];
        const tokens = new Map<number, number>();
        /** Per request, how many requests had arrived when it was granted. */
        const grantedAt = new Map<number, number>();
        const refused = new Set<number>();
        /** The requests that were queued by a child when it closed: they are refused. */
        const closedQueued = new Set<number>();
        let held = 0;
        let mostHeld = 0;
        let mostCounted = 0;
        let longestQueue = 0;
        const problems: string[] = [];
        let wake: () => void = () => {};

        receive = (message) => {
          const id = message.id!;
          if (message.type === 'refused') {
            if (!closedQueued.has(id)) problems.push(`request ${id} refused unexpectedly (${message.name})`);
            refused.add(id);
          } else if (!model.held.has(id) || tokens.has(id)) {
            problems.push(`request ${id} granted, which the model did not predict`);
          } else {
            tokens.set(id, message.token!);
            held += requests[id]!.permits;
            mostHeld = Math.max(mostHeld, held);
            mostCounted = Math.max(mostCounted, message.count!);
          }
          wake();
        };

        /** Resolves once every request of `granted` was reported granted, and `withdrawn` refused. */
        function told(granted: Request[], withdrawn: Request[] = []): Promise<void> {
          const done = () =>
            problems.length > 0 ||
            (granted.every((request) => tokens.has(request.id)) &&
              withdrawn.every((request) => refused.has(request.id)));
          for (const request of granted) grantedAt.set(request.id, requests.length);
          return new Promise((resolve) => {
            wake = () => {
              if (done()) resolve();
            };
            wake();
          });
        }

        /**
         * The server's state is the model's after `step`: free permits, queue, tickets; then, once the
         * grants the model predicts were reported, the counter of held permits. Stops the run at the
         * first difference (a grant the server did not make would never be reported).
         */
        async function checkStep(step: string, granted: Request[], withdrawn: Request[] = []): Promise<void> {
          const [free, queued, tickets] = await Promise.all([
            command(admin, ['HGET', base, 'free']),
            command(admin, ['ZCARD', `${base}:queue`]),
            command(admin, ['HLEN', `${base}:tickets`]),
          ]);
          longestQueue = Math.max(longestQueue, Number(queued));
          const server = [Number(free), Number(queued), Number(tickets)];
          const expected = [model.free, model.queue.length, model.held.size + model.queue.length];
          if (server.join() !== expected.join() || problems.length > 0) {
            throw new Error(
              `after ${step} (seed ${seed}): the server has [free, queued, tickets] = [${server.join(', ')}], ` +
                `the model [${expected.join(', ')}]; ${problems.join('; ')}`,
            );
          }
          await told(granted, withdrawn);
          const counted = Number((await command(admin, ['GET', counter])) ?? 0);
          if (counted !== PERMITS - model.free || problems.length > 0) {
            throw new Error(
              `after ${step} (seed ${seed}): ${counted} permits counted held, ${PERMITS - model.free} in the ` +
                `model; ${problems.join('; ')}`,
            );
          }
        }

        for (const [index, child] of children.entries()) {
          const library = index % 2 === 0 ? 'ioredis' : 'node-redis';
          child.send({ cmd: 'start', url, key, permits: PERMITS, leaseMs: 3000, library });
          await child.next('ready');
        }

        async function request(): Promise<void> {
          const made: Request = {
            id: requests.length,
            child: Math.floor(next() * CHILDREN),
            permits: next() < 0.7 ? 1 : 2,
            priority: next() < 0.8 ? 0 : 1,
          };
          requests.push(made);
          const granted = model.arrive(made);
          children[made.child]!.send({ cmd: 'request', ...made });
          await children[made.child]!.next('arrived');
          await checkStep(`request ${made.id}`, granted);
        }

        async function release(): Promise<void> {
          const holders = [...model.held.values()].sort((a, b) => a.id - b.id);
          const released = holders[Math.floor(next() * holders.length)]!;
          held -= released.permits; // before the child gives it back: it may go on at once
          const granted = model.release(released.id);
          children[released.child]!.send({ cmd: 'release', id: released.id });
          await children[released.child]!.next('released');
          await checkStep(`release of ${released.id}`, granted);
        }

        while (requests.length < REQUESTS) {
          if (model.held.size === 0 || next() < 0.55) await request();
          else await release();
        }
        // Every process closes, in a random order, holding and queueing what it has then.
        const closing = [...children.keys()];
        for (let i = closing.length - 1; i > 0; i--) {
          const j = Math.floor(next() * (i + 1));
          [closing[i], closing[j]] = [closing[j]!, closing[i]!];
        }
        for (const index of closing) {
          if (model.held.size > 0 && next() < 0.5) await release();
          for (const request of model.held.values()) if (request.child === index) held -= request.permits;
          const { granted, withdrawn } = model.close(index);
          for (const request of withdrawn) closedQueued.add(request.id);
          children[index]!.send({ cmd: 'close' });
          await children[index]!.next('closed');
          await checkStep(`child ${index} closed`, granted, withdrawn);
        }

        expect(mostHeld).toBeLessThanOrEqual(PERMITS);
        expect(mostCounted).toBeLessThanOrEqual(PERMITS);
        expect(mostCounted).withContext('the counter saw the permits all held').toBe(PERMITS);
        // Grants in order of arrival: over every pair where the later request arrived while the
        // earlier one still waited (the pairs an implementation could get wrong), and all others.
        let contested = 0;
        for (const earlier of requests) {
          for (const later of requests) {
            if (later.id <= earlier.id || later.priority > earlier.priority) continue;
            const [first, second] = [tokens.get(earlier.id), tokens.get(later.id)];
            if (first === undefined || second === undefined) continue; // withdrawn by a close
            if (grantedAt.get(earlier.id)! > later.id) contested++;
            if (first >= second) {
              problems.push(`request ${later.id} (token ${second}) before ${earlier.id} (token ${first})`);
            }
          }
        }
        expect(problems).toEqual([]);
        expect(contested)
          .withContext('pairs where the later request arrived while the earlier waited')
          .toBeGreaterThan(20);
        expect(longestQueue).toBeGreaterThanOrEqual(4);
        // Nothing lost: every process closed its semaphore.
        expect(Number(await command(admin, ['HGET', base, 'free']))).toBe(PERMITS);
        expect(Number(await command(admin, ['ZCARD', `${base}:queue`]))).toBe(0);
        expect(Number(await command(admin, ['HLEN', `${base}:tickets`]))).toBe(0);
        expect(Number(await command(admin, ['ZCARD', `${base}:clients`]))).toBe(0);
        expect(Number(await command(admin, ['GET', counter]))).toBe(0);
        await command(admin, ['DEL', counter]);
      },
      TIMEOUT_MS,
    );
  }
});
