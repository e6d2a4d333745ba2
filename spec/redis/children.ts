import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';

// Child processes of the Redis specs (Node only), started with child_process.fork and coordinated
// by messages, never by sleeps: a child sends `{ type, ... }` messages, the spec awaits them by
// type. A helper module: no `describe` or `it`.

/** The first command a child of the Redis specs gets: its semaphore, and the client to reach it. */
export interface ChildStart {
  cmd: 'start';
  url: string;
  key: string;
  permits: number;
  leaseMs: number;
  library: 'ioredis' | 'node-redis';
}

/** A message from a child: its `type`, and what that type carries. */
export interface ChildMessage {
  type: string;
  token?: number;
  regrantable?: boolean;
  name?: string;
  lost?: boolean;
  message?: string;
  id?: number;
  /** The value of a counter in Redis after the child changed it. */
  count?: number;
}

/** A child process, and the messages it sent, awaited by type. */
export class Child {
  private readonly inbox: ChildMessage[] = [];
  private readonly waiters: Array<{ type: string; resolve: (message: ChildMessage) => void }> = [];
  readonly exited: Promise<void>;

  /**
   * @param process The forked process.
   * @param unawaited Receives instead of the inbox the messages of these types, as they come (for
   * messages the spec does not await one at a time).
   */
  constructor(
    readonly process: ChildProcess,
    private readonly unawaited: {
      types: readonly string[];
      receive(message: ChildMessage): void;
    } | null = null,
  ) {
    process.on('message', (message: ChildMessage) => {
      if (this.unawaited?.types.includes(message.type)) return this.unawaited.receive(message);
      const index = this.waiters.findIndex((waiter) => waiter.type === message.type);
      if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(message);
      else this.inbox.push(message);
    });
    this.exited = new Promise((resolve) => process.once('exit', () => resolve()));
  }

  /** The next message of `type` (rejects if the child reported an error instead). */
  next(type: string): Promise<ChildMessage> {
    const index = this.inbox.findIndex((message) => message.type === type);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0]!);
    const error = this.inbox.find((message) => message.type === 'error');
    if (error) return Promise.reject(new Error(error.message));
    return new Promise((resolve) => this.waiters.push({ type, resolve }));
  }

  send(message: object): void {
    this.process.send(message);
  }
}

/** Forks `script` (a TypeScript file of this folder, run through ts-node) as a {@link Child}. */
export function forkChild(script: string, unawaited?: ConstructorParameters<typeof Child>[1]): Child {
  const root = path.resolve(__dirname, '..', '..');
  return new Child(
    fork(path.join(__dirname, script), [], {
      execArgv: ['-r', path.join(root, 'scripts', 'register-ts.js')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
    unawaited ?? null,
  );
}
