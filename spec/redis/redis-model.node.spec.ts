import { defer, lastValueFrom, timer } from 'rxjs';
import { finalize } from 'rxjs/operators';
import { withPermit } from '../../src/index.js';
import { RedisSemaphore, type RedisClient } from '../../src/redis/index.js';
import { command, ioredis, nodeRedis, redisUrl, uniqueKey } from './redis-helpers.js';

// A model-based run against the real server (Node only): several instances on connections of their
// own (the server sees several processes, both client libraries), random weighted requests with
// random holding times and random priorities. It checks that the permits held at once never exceed
// the stored count, that each instance's equal-priority 1-permit requests are granted in the order
// it made them (they reach the server in that order on its connection), and that nothing is lost:
// once every instance is closed, the key has every permit free, nobody queued, no ticket left.

/** A small deterministic generator, so a failing run can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('RedisSemaphore model-based run over several connections', () => {
  const seeds = [1, 2, 3];
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
