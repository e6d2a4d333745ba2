import type { Redis } from 'ioredis';
import type { RedisClient } from '../../src/redis/index.js';

// A client for RedisSemaphore in the conformance suite (Node only): an ioredis client, passed
// through, that knows when every answer has reached the semaphores using it — the suite's
// `settled()` for a backend that answers in real time. A helper module: no `describe` or `it`.

/** A subscriber connection made by a semaphore (`duplicate()`), and the markers it waits for. */
interface Subscriber {
  readonly connection: Redis;
  channel: string | null;
  readonly markers: Map<string, () => void>;
}

/**
 * An ioredis client as `RedisSemaphore` sees it (`call`, `duplicate`, `on`, `off`, `status`) that counts
 * the commands in flight on it and on the subscriber connections it duplicates.
 *
 * {@link settled} waits, by events only, until the semaphores using it have heard every answer:
 * no command in flight (a reply resolves each), then a marker published on each subscriber's
 * channel has come back — the server delivers a channel's messages in order, so every grant
 * pushed before the marker has reached its semaphore — and still nothing new in flight once the
 * Promise callbacks that follow from those answers ran (a grantee that releases sends more). It
 * loops until one round sees nothing new.
 */
export class SettlingClient {
  private inFlight = 0;
  /** Commands sent so far: a round of `settled()` that sees this move goes round again. */
  private sent = 0;
  private idle: Array<() => void> = [];
  private readonly subscribers: Subscriber[] = [];
  private markerCount = 0;

  constructor(private readonly target: Redis) {}

  /** This client, typed as the semaphore's constructor takes it. */
  get client(): RedisClient {
    return this as unknown as RedisClient;
  }

  get status(): string {
    return this.target.status;
  }

  /** The socket, which the semaphore corks for the commands of one tick. */
  get stream(): unknown {
    return this.target.stream;
  }

  call(command: string, ...args: (string | number)[]): Promise<unknown> {
    return this.track(this.target.call(command, ...args));
  }

  on(event: string, listener: (...args: never[]) => void): this {
    this.target.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off(event: string, listener: (...args: never[]) => void): this {
    this.target.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  duplicate(override?: { autoResubscribe?: boolean }): Redis {
    const connection = this.target.duplicate(override);
    const subscriber: Subscriber = { connection, channel: null, markers: new Map() };
    this.subscribers.push(subscriber);
    connection.on('message', (_channel: string, message: string) => {
      subscriber.markers.get(message)?.();
      subscriber.markers.delete(message);
    });
    const subscribe = connection.subscribe.bind(connection) as (channel: string) => Promise<unknown>;
    (connection as unknown as { subscribe(channel: string): Promise<unknown> }).subscribe = (channel) => {
      subscriber.channel = channel;
      return this.track(subscribe(channel));
    };
    return connection;
  }

  /** Resolves once every answer has reached the semaphores using this client (see the class). */
  async settled(): Promise<void> {
    for (;;) {
      const before = this.sent;
      await this.noneInFlight();
      await Promise.all(this.subscribers.map((subscriber) => this.marker(subscriber)));
      await afterPromiseCallbacks();
      if (this.sent === before && this.inFlight === 0) return;
    }
  }

  /** Closes the connection (the subscriber connections are closed by their semaphores). */
  disconnect(): void {
    this.target.disconnect();
  }

  /** Publishes a marker on `subscriber`'s channel and resolves when it comes back on it. */
  private marker(subscriber: Subscriber): Promise<void> {
    if (subscriber.channel === null || subscriber.connection.status !== 'ready') return Promise.resolve();
    const marker = `settled ${++this.markerCount}`;
    const back = new Promise<void>((resolve) => subscriber.markers.set(marker, resolve));
    void this.target.call('PUBLISH', subscriber.channel, marker);
    return back;
  }

  private async noneInFlight(): Promise<void> {
    for (;;) {
      if (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
      await afterPromiseCallbacks();
      if (this.inFlight === 0) return;
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight++;
    this.sent++;
    const done = () => {
      if (--this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
    };
    promise.then(done, done);
    return promise;
  }
}

/**
 * Resolves after the Promise callbacks queued now and those they queue (one turn of the event
 * loop): what a reply sets off in a semaphore has run by then. Not a wait for an event.
 */
function afterPromiseCallbacks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
