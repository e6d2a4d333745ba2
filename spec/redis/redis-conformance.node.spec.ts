import { Redis } from 'ioredis';
import { EMPTY } from 'rxjs';
import { PermitBackendError } from '../../src/index.js';
import { RedisSemaphore } from '../../src/redis/index.js';
import { adaptSemaphore, realTimeRemote, type ConformanceBackend } from '../conformance/backends.js';
import { describeLeaseConformance, semaphorePool, type LeaseSubject } from '../conformance/lease-suite.js';
import { describeSemaphoreConformance } from '../conformance/semaphore-suite.js';
import { captureUnhandledErrors, failOnUnhandledRejections } from '../helpers/index.js';
import { redisUrl, uniqueKey } from './redis-helpers.js';
import { SettlingClient } from './settling-client.js';

// The shared conformance suites against RedisSemaphore on the test run's redis-server (Node only),
// in real time: spec/conformance/semaphore-suite.ts (SPEC §2) and spec/conformance/lease-suite.ts
// (rule 22, lease() and run()). Each spec gets semaphores on a fresh key, one instance each (its
// `value` and `waiting` are what the server answered it, so they are exact once every answer has
// come), and waits for the server's answers with the client's `settled()` (see
// settling-client.ts): events, never sleeps. `tryAcquire`, which a Redis semaphore cannot answer
// synchronously, is `acquire({ blocking: false })`, decided by the server in order of arrival.
// Specs written with marbles in virtual time run as their real-time twins. Timeouts run on the
// suites' virtual schedulers (given in the options, or to the lease suite's semaphores), moved on
// by the spec once the server has answered, so each deadline falls exactly where the spec says.
//
// Skipped, as SPEC §7 relaxes them for RedisSemaphore (pending with the rule in the semaphore
// suite; not defined in the lease suite, as for SimulatedRemoteSemaphore): rule 3 (the hand-off is
// atomic inside the server, but the grantee learns of it one hop later, not inside the release),
// rule 5 (nothing is granted synchronously; in the lease suite, `timeout <= 0` decided inside the
// call), rules 10-11 (`wait` and `rawlink` wake on the value heard from the server, not in the
// operation that frees permits), rule 12 (values are eventual and coalesced: the specs of every
// settled value in order, and of broadcasts made from a subscriber's handler). Everything else
// runs: FIFO and no barging (rule 2), stack safety of releases made in grants (4), timeouts (6),
// withdrawal (7), the permit lifetime in withPermit (8: the release is sent before the terminal
// notification, so a request made then is granted), acquire (9), the permit observable's current
// value, faults staying local (17), mergeMapWithPermit in the shared FIFO (18),
// and all of rule 22 (timeouts, AbortSignal, run(), bad arguments, 1,000 queued requests served
// in order or withdrawn by one signal; the lease suite's other primitives take 10^5).

let settling: SettlingClient | null = null;
let semaphores: RedisSemaphore[] = [];

const redis: ConformanceBackend = {
  name: 'RedisSemaphore',
  keeps: realTimeRemote,
  traits: {
    capacity: 'unbounded',
    weighted: true,
    reentrantForSameCaller: false,
    wait: () => EMPTY,
    rawlink: () => {},
    unlink: () => {},
  },
  factory: (permits) => {
    if (settling === null) throw new Error('the Redis client is connected in beforeAll');
    const client = settling;
    const semaphore = new RedisSemaphore(client.client, uniqueKey('conformance'), { permits });
    semaphores.push(semaphore);
    return { ...adaptSemaphore(semaphore), settled: () => client.settled() };
  },
};

/** The name of every semaphore of the lease suite (its messages and errors name it). */
const NAME = 'conformance';

const redisLeases: LeaseSubject = {
  title: 'RedisSemaphore',
  label: `RedisSemaphore "${NAME}"`,
  latency: 0,
  weighted: true,
  synchronousGrant: false,
  manyRequests: 1000,
  create: (permits, scheduler) => {
    if (settling === null) throw new Error('the Redis client is connected in beforeAll');
    const key = uniqueKey('conformance');
    // The state made as the first instance would make it, with the fencing counter at 0, so that
    // tokens count from 1 as the suite's in-process primitives do (the server starts them at its
    // clock's microseconds). Sent before the semaphore registers, on the same connection.
    void settling.call(
      'HSET',
      `rxjs-permits:{${key}}`,
      'epoch',
      'spec',
      'permits',
      permits,
      'free',
      permits,
      'token',
      0,
      'seq',
      0,
    );
    const semaphore = new RedisSemaphore(settling.client, key, { permits, scheduler, name: NAME });
    semaphores.push(semaphore);
    return semaphorePool(semaphore, true);
  },
  settled: () => settling!.settled(),
};

describe('RedisSemaphore on a real redis-server', () => {
  failOnUnhandledRejections();

  beforeAll(async () => {
    const connection = new Redis(await redisUrl(), { maxRetriesPerRequest: 2 });
    connection.on('error', () => {});
    settling = new SettlingClient(connection);
  });

  // A spec may leave requests queued: closing fails them with PermitBackendError, which their
  // `acquire()` subscribers (no error callback) report out of band. Anything else is a failure.
  afterEach(async () => {
    const closing = semaphores;
    semaphores = [];
    const reported = await captureUnhandledErrors(async () => {
      await Promise.all(closing.map((semaphore) => semaphore.close()));
    });
    for (const error of reported) {
      expect(error).toEqual(jasmine.any(PermitBackendError));
      expect(String((error as PermitBackendError).cause)).toContain('closed');
    }
  });

  afterAll(() => {
    settling?.disconnect();
    settling = null;
  });

  describeSemaphoreConformance(redis);
  describeLeaseConformance(redisLeases);
});
