/**
 * `rxjs-permits/redis`: {@link RedisSemaphore}, one fair limit shared by processes and machines
 * through a Redis server (ioredis or node-redis). Node only.
 *
 * @module
 */
export { RedisSemaphore, type RedisSemaphoreOptions } from './redis-semaphore.js';
export type { RedisClient, IoRedisClientLike, NodeRedisClientLike } from './adapter.js';
