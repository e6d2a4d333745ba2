import { NEVER } from 'rxjs';
import { usingLease } from '../../src/index.js';
import { RedisSemaphore } from '../../src/redis/index.js';
import type { ChildStart } from './children.js';
import { ioredis, nodeRedis } from './redis-helpers.js';

// A process of the Redis fault specs (started with child_process.fork, coordinated by messages):
// it makes a RedisSemaphore on the key it is told, holds a lease when asked (a stream that never
// ends, gated by usingLease), reports the loss of that lease, and asks the parent's fencing store
// to accept a write with its token when told to write. Not a spec.

type Command = ChildStart | { cmd: 'hold' } | { cmd: 'write' };

const send = (message: object) => process.send!(message);
let semaphore: RedisSemaphore | null = null;
let token: number | null = null;
let lost = false;

process.on('message', (message: Command) => {
  void handle(message).catch((error: unknown) => send({ type: 'error', message: String(error) }));
});

async function handle(message: Command): Promise<void> {
  switch (message.cmd) {
    case 'start': {
      const library = message.library === 'ioredis' ? ioredis : nodeRedis;
      const client = await library.connect(message.url);
      semaphore = new RedisSemaphore(client, message.key, {
        permits: message.permits,
        leaseMs: message.leaseMs,
      });
      send({ type: 'ready', pid: process.pid });
      return;
    }
    case 'hold':
      usingLease(semaphore!, (lease) => {
        token = lease.token;
        send({ type: 'granted', token });
        return NEVER;
      }).subscribe({
        error: (error: { name: string; regrantable?: boolean; token?: number }) => {
          lost = true;
          send({ type: 'lost', name: error.name, regrantable: error.regrantable, token: error.token });
        },
      });
      return;
    case 'write':
      // A careful holder checks its lease before writing; the store checks the token anyway.
      send({ type: 'write', token, lost });
      return;
  }
}
