// The small adapter between RedisSemaphore and the two Node clients it accepts, ioredis and
// node-redis (`redis`): raw commands on the user's client, a subscriber connection of its own
// (a duplicate of the user's client), and the clients' reconnections. Nothing here imports either
// library: a client is recognised by its methods, so the package loads without them.

/**
 * An ioredis client (`new Redis(...)` of the `ioredis` package, 5.x or 6.x), as far as
 * `RedisSemaphore` uses it.
 */
export interface IoRedisClientLike {
  /** Sends a raw command. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** A new connection with the same options, but for `override`. */
  duplicate(override?: { autoResubscribe?: boolean }): unknown;
  /** Adds an event listener. */
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * A node-redis client (`createClient()` of the `redis` package, 5.x or 6.x, connected), as far as
 * `RedisSemaphore` uses it.
 */
export interface NodeRedisClientLike {
  /** Sends a raw command. */
  sendCommand(args: string[]): Promise<unknown>;
  /** A new client with the same options (not connected yet). */
  duplicate(): unknown;
  /** Adds an event listener. */
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/** The Redis clients `RedisSemaphore` accepts: an ioredis client or a connected node-redis client. */
export type RedisClient = IoRedisClientLike | NodeRedisClientLike;

/** What the semaphore needs of a client. */
export interface RedisConnection {
  /** Which library: for messages. */
  readonly library: 'ioredis' | 'node-redis';
  /** Sends one command on the user's client; resolves to its reply. */
  command(args: string[]): Promise<unknown>;
  /** Opens a subscriber connection of its own, subscribed to `channel`. */
  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onReconnect: () => void,
  ): Promise<Subscription>;
  /** Calls `listener` each time the user's client is ready again after a reconnection. */
  onReconnect(listener: () => void): () => void;
}

/** The subscriber connection. */
export interface Subscription {
  /** Closes the connection. */
  close(): Promise<void>;
}

interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once?(event: string, listener: (...args: unknown[]) => void): unknown;
  off?(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener?(event: string, listener: (...args: unknown[]) => void): unknown;
}

function off(emitter: Emitter, event: string, listener: (...args: unknown[]) => void): void {
  if (typeof emitter.off === 'function') emitter.off(event, listener);
  else emitter.removeListener?.(event, listener);
}

/** Whether `client` looks like an ioredis client. */
function isIoRedis(client: unknown): client is IoRedisClientLike {
  const c = client as Record<string, unknown> | null;
  return (
    c !== null &&
    typeof c === 'object' &&
    typeof c.call === 'function' &&
    typeof c.duplicate === 'function' &&
    typeof c.on === 'function'
  );
}

/** Whether `client` looks like a node-redis client. */
function isNodeRedis(client: unknown): client is NodeRedisClientLike {
  const c = client as Record<string, unknown> | null;
  return (
    c !== null &&
    typeof c === 'object' &&
    typeof c.sendCommand === 'function' &&
    typeof c.duplicate === 'function' &&
    typeof c.on === 'function'
  );
}

/** Calls `listener` on every 'ready' of `emitter` after the first one it sees. */
function afterFirstReady(emitter: Emitter, alreadyReady: boolean, listener: () => void): () => void {
  let seen = alreadyReady;
  const onReady = () => {
    if (seen) listener();
    seen = true;
  };
  emitter.on('ready', onReady);
  return () => off(emitter, 'ready', onReady);
}

/**
 * The adapter for `client`.
 *
 * @throws `TypeError` when `client` is neither an ioredis nor a node-redis client.
 */
export function connectionFor(where: string, client: unknown): RedisConnection {
  if (isIoRedis(client)) return ioRedisConnection(client);
  if (isNodeRedis(client)) return nodeRedisConnection(client);
  throw new TypeError(
    `${where}: client must be an ioredis client (new Redis()) or a node-redis client (createClient()), ` +
      `got ${client === null ? 'null' : typeof client}`,
  );
}

/** The socket of an ioredis client, as far as corking it goes. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

function ioRedisConnection(client: IoRedisClientLike): RedisConnection {
  const emitter = client as unknown as Emitter & { status?: string; stream?: Partial<Corkable> };
  // ioredis writes each command to its socket at once: one system call each. The commands sent in
  // one tick (a release and the next request, a burst of requests) go out in one write instead:
  // the socket is corked at the first and uncorked on the next tick (node-redis batches the
  // commands of one turn itself). Order and replies are unchanged.
  let corked: Corkable | null = null;
  const uncork = () => {
    const stream = corked;
    corked = null;
    stream?.uncork();
  };
  return {
    library: 'ioredis',
    command: (args) => {
      const stream = emitter.stream;
      if (corked === null && emitter.status === 'ready' && typeof stream?.cork === 'function') {
        corked = stream as Corkable;
        corked.cork();
        process.nextTick(uncork);
      }
      return client.call(...(args as [string, ...string[]]));
    },
    async subscribe(channel, onMessage, onReconnect) {
      // Subscribed again here on each reconnection, not by ioredis (autoResubscribe): its own
      // SUBSCRIBE has no listener, and a close during the reconnection's handshake rejected it
      // unhandled ('Connection is closed.'), in the user's process.
      const sub = client.duplicate({ autoResubscribe: false }) as Emitter & {
        status?: string;
        subscribe(channel: string): Promise<unknown>;
        disconnect(): void;
      };
      sub.on('error', () => {}); // reported through the commands that fail; ioredis reconnects
      sub.on('message', (_channel: unknown, message: unknown) => onMessage(String(message)));
      let closed = false;
      const stop = afterFirstReady(sub, sub.status === 'ready', () => {
        // Reconciled once subscribed again: a grant pushed after the reconciliation reaches it.
        // A failed SUBSCRIBE (the connection closed again) is sent again at the next 'ready'.
        void sub
          .subscribe(channel)
          .catch(() => {})
          .then(() => {
            if (!closed) onReconnect();
          });
      });
      try {
        await sub.subscribe(channel);
      } catch (error) {
        stop();
        sub.disconnect();
        throw error;
      }
      return {
        close() {
          closed = true;
          stop();
          const status = sub.status;
          if (status === 'end') return Promise.resolve();
          const ended = new Promise<void>((resolve) => sub.once?.('end', () => resolve()));
          sub.disconnect();
          // Between two attempts to reconnect there is no socket to close: no 'end' will come.
          if (status === 'reconnecting' || sub.status === 'end') return Promise.resolve();
          return ended;
        },
      };
    },
    onReconnect: (listener) => afterFirstReady(emitter, emitter.status === 'ready', listener),
  };
}

function nodeRedisConnection(client: NodeRedisClientLike): RedisConnection {
  const emitter = client as unknown as Emitter & { isReady?: boolean };
  return {
    library: 'node-redis',
    command: (args) => client.sendCommand(args),
    async subscribe(channel, onMessage, onReconnect) {
      const sub = client.duplicate() as Emitter & {
        connect(): Promise<unknown>;
        subscribe(channel: string, listener: (message: unknown) => void): Promise<void>;
        destroy?(): void;
        disconnect?(): Promise<void>;
        isOpen?: boolean;
      };
      sub.on('error', () => {}); // reported through the commands that fail; node-redis reconnects
      const stop = afterFirstReady(sub, false, onReconnect);
      const closeSub = async () => {
        stop();
        if (sub.isOpen === false) return;
        if (typeof sub.destroy === 'function') sub.destroy();
        else await sub.disconnect?.();
      };
      try {
        await sub.connect();
        await sub.subscribe(channel, (message) => onMessage(String(message)));
      } catch (error) {
        await closeSub().catch(() => {});
        throw error;
      }
      return { close: closeSub };
    },
    onReconnect: (listener) => afterFirstReady(emitter, emitter.isReady === true, listener),
  };
}
