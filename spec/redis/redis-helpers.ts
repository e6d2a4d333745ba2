import { randomBytes } from 'crypto';
import * as path from 'path';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { RedisClient } from '../../src/redis/index.js';

// Helpers of the Redis specs (Node only): the test run's redis-server (PERMITS_REDIS_URL, started
// by scripts/redis-server.js for the node suites step), one started here when the specs run on
// their own, clients of both libraries, and unique keys. A helper module: no `describe` or `it`.

// eslint-disable-next-line @typescript-eslint/no-require-imports
const redisServer = require(path.resolve(__dirname, '..', '..', 'scripts', 'redis-server.js')) as {
  startRedisServer(binary: string, port?: number): Promise<RedisServer>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const systemDeps = require(path.resolve(__dirname, '..', '..', 'scripts', 'system-deps.js')) as {
  find(key: string): string | null;
  missingMessage(key: string, command?: string): string;
};

/** A redis-server started by the specs. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** The redis-server program. */
export function redisServerBinary(): string {
  const binary = process.env.REDIS_SERVER || systemDeps.find('redis-server');
  if (!binary) throw new Error(systemDeps.missingMessage('redis-server', 'the Redis specs'));
  return binary;
}

/** Starts a redis-server of the spec's own (on `port`, or a free one). */
export function startRedisServer(port?: number): Promise<RedisServer> {
  return redisServer.startRedisServer(redisServerBinary(), port);
}

let ownServer: Promise<RedisServer> | null = null;

/** The URL of the test run's server (started here, once, when the run did not start one). */
export async function redisUrl(): Promise<string> {
  const given = process.env.PERMITS_REDIS_URL;
  if (given) return given;
  if (ownServer === null) {
    ownServer = startRedisServer();
    const server = await ownServer;
    process.once('exit', () => process.kill(server.pid, 'SIGTERM'));
  }
  return (await ownServer).url;
}

/** A key no other spec uses. */
export function uniqueKey(label = 'spec'): string {
  return `${label}:${randomBytes(6).toString('hex')}`;
}

/** One of the two client libraries: how to connect a client, and how to drop it at once. */
export interface ClientLibrary {
  readonly name: 'ioredis' | 'node-redis';
  connect(url: string): Promise<RedisClient>;
  /** Closes the connection (and its reconnections). */
  close(client: RedisClient): Promise<void>;
}

export const ioredis: ClientLibrary = {
  name: 'ioredis',
  async connect(url) {
    const client = new Redis(url, { maxRetriesPerRequest: 2 });
    client.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
    });
    return client as unknown as RedisClient;
  },
  async close(client) {
    (client as unknown as Redis).disconnect();
  },
};

export const nodeRedis: ClientLibrary = {
  name: 'node-redis',
  async connect(url) {
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    return client as unknown as RedisClient;
  },
  async close(client) {
    const c = client as unknown as ReturnType<typeof createClient>;
    if (c.isOpen) c.destroy();
  },
};

export const libraries: readonly ClientLibrary[] = [ioredis, nodeRedis];

/** Sends a raw command through a client of either library. */
export function command(client: RedisClient, args: string[]): Promise<unknown> {
  const c = client as unknown as {
    call?: (...a: string[]) => Promise<unknown>;
    sendCommand?: (a: string[]) => Promise<unknown>;
  };
  return c.call ? c.call(...args) : c.sendCommand!(args);
}

/** Resolves when `check()` is true, checked on each value of `source` (events, not sleeps). */
export function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
