import { RedisSemaphore, type RedisClient } from '../../src/redis/index.js';
import type { Lease } from '../../src/index.js';
import type { ChildStart } from './children.js';
import { command, ioredis, nodeRedis } from './redis-helpers.js';

// A process of the multi-process model run (redis-model.node.spec.ts), started with
// child_process.fork and driven by the parent's messages, one at a time. It asks for permits with
// `lease()`, holds each grant until told to release it, and keeps a counter in Redis of the
// permits its grants hold (INCRBY once told of a grant, DECRBY before giving one back), so the
// server itself shows how many permits are held at once. After each command it makes one round
// trip on the same connection before it answers: its request or release has then reached the
// server, so the parent knows the order of arrival at Redis. Not a spec.

interface Request {
  cmd: 'request';
  id: number;
  permits: number;
  priority: number;
}
type Command = ChildStart | Request | { cmd: 'release'; id: number } | { cmd: 'close' } | { cmd: 'exit' };

const send = (message: object) => process.send!(message);

let client: RedisClient | null = null;
let semaphore: RedisSemaphore | null = null;
let counter = '';
/** The grants this process holds, by request id. */
const held = new Map<number, Lease>();

// Never outlive the parent (a run that failed or was stopped).
process.on('disconnect', () => process.exit(0));
process.on('message', (message: Command) => {
  void handle(message).catch((error: unknown) => send({ type: 'error', message: String(error) }));
});

/** Resolves once everything sent before on this connection has been executed by the server. */
async function roundTrip(): Promise<void> {
  await command(client!, ['PING']);
}

async function handle(message: Command): Promise<void> {
  switch (message.cmd) {
    case 'start': {
      client ??= await (message.library === 'ioredis' ? ioredis : nodeRedis).connect(message.url);
      counter = `${message.key}:held`;
      semaphore = new RedisSemaphore(client, message.key, {
        permits: message.permits,
        leaseMs: message.leaseMs,
      });
      // Registered once a request is answered: from then on requests are sent inside the call.
      const lease = await semaphore.lease();
      lease.release();
      await roundTrip();
      send({ type: 'ready' });
      return;
    }
    case 'request': {
      const { id, permits, priority } = message;
      semaphore!.lease({ permits, priority }).then(
        async (lease) => {
          held.set(id, lease);
          const count = Number(await command(client!, ['INCRBY', counter, String(permits)]));
          send({ type: 'granted', id, token: lease.token, count });
        },
        (error: { name?: string }) => send({ type: 'refused', id, name: error.name }),
      );
      await roundTrip();
      send({ type: 'arrived', id });
      return;
    }
    case 'release': {
      const lease = held.get(message.id)!;
      held.delete(message.id);
      await command(client!, ['DECRBY', counter, String(lease.permits)]);
      lease.release();
      await roundTrip();
      send({ type: 'released', id: message.id });
      return;
    }
    case 'close': {
      let holding = 0;
      for (const lease of held.values()) holding += lease.permits;
      held.clear();
      if (holding > 0) await command(client!, ['DECRBY', counter, String(holding)]);
      await semaphore!.close();
      semaphore = null;
      send({ type: 'closed' });
      return;
    }
    case 'exit':
      // A semaphore left open by a failed run would keep this process alive: exit at once.
      process.exit(0);
  }
}
