import { NEVER, map, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { BoundedSemaphore, DummySemaphore, Semaphore, usingLease, type Lease } from '../src/index.js';
import { createTestScheduler, permitTimeout, type FrameEvent, recordFrames } from '../spec/helpers/index.js';

// Frame-exact timing of usingLease (SPEC §5): the factory runs in the frame the lease is granted,
// the lease goes back in the frame its stream ends (before the end is forwarded), on unsubscribe,
// or when user code releases it early; timeouts and priorities as withPermit's.

describe('usingLease (marbles)', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  /** Runs `work` at `frame` (after the actions already scheduled for that frame). */
  const at = (frame: number, work: () => void) => testScheduler.schedule(work, frame);

  describe('order and lease lifetime', () => {
    it('runs factories one after another on a semaphore of 1, each in the frame it is granted, tokens increasing', () => {
      const semaphore = new Semaphore(1);
      const calledAt: Array<[number, number]> = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const leased = (inner: string) =>
          usingLease(semaphore, (lease) => {
            calledAt.push([testScheduler.now(), lease.token]);
            return cold(inner).pipe(map(() => lease.token));
          });
        expectObservable(leased('-a-|')).toBe('-1-|', { 1: 1 });
        expectObservable(leased('--a|'), '-^').toBe('-----2|', { 2: 2 });
        expectObservable(leased('a-|'), '--^').toBe('------3-|', { 3: 3 });
        expectObservable(semaphore).toBe('0-------1', { 0: 0, 1: 1 });
      });
      expect(calledAt).toEqual([
        [0, 1],
        [3, 2],
        [6, 3],
      ]);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('the next lease is granted in the frame the previous stream errors or is unsubscribed', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const failing = cold('--#', undefined, 'boom');
        const cut = cold('-----');
        const last = cold('-z|');
        expectObservable(usingLease(semaphore, () => failing)).toBe('--#', undefined, 'boom');
        expectObservable(
          usingLease(semaphore, () => cut),
          '^---!',
        ).toBe('----');
        expectObservable(usingLease(semaphore, () => last)).toBe('-----z|');
        expectSubscriptions(failing.subscriptions).toBe('^-!');
        expectSubscriptions(cut.subscriptions).toBe('--^-!');
        expectSubscriptions(last.subscriptions).toBe('----^-!');
      });
      expect(semaphore.value).toBe(1);
    });

    it('a lease released early by its stream lets the next one start in that frame; the end releases nothing more', () => {
      const semaphore = new BoundedSemaphore(1);
      const log: FrameEvent[] = [];
      testScheduler.run(({ cold }) => {
        let held: Lease | null = null;
        recordFrames(
          testScheduler,
          'A',
          usingLease(semaphore, (lease) => {
            held = lease;
            return cold('a-------|');
          }),
          log,
        );
        recordFrames(
          testScheduler,
          'B',
          usingLease(semaphore, (lease) => cold('b---|', { b: lease.token })),
          log,
        );
        at(3, () => {
          held!.release();
          log.push([testScheduler.now(), `A released: ${held!.released}, value ${semaphore.value}`]);
        });
        at(9, () => log.push([testScheduler.now(), `value ${semaphore.value}`]));
      });
      expect(log).toEqual([
        [0, 'A:a'],
        [3, 'A released: true, value 0'],
        [3, 'B:2'],
        [7, 'B:|'],
        [8, 'A:|'],
        [9, 'value 1'],
      ]);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('withdrawing a queued subscription grants nothing to it, and the next one is served in turn', () => {
      const semaphore = new Semaphore(1);
      let factoryCalls = 0;
      testScheduler.run(({ cold, expectObservable }) => {
        const leased = (inner: string) =>
          usingLease(semaphore, () => {
            factoryCalls++;
            return cold(inner);
          });
        expectObservable(leased('----|')).toBe('----|');
        expectObservable(leased('x|'), '-^-!').toBe('---');
        expectObservable(leased('y|'), '--^').toBe('----y|');
        at(3, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]));
      });
      expect(factoryCalls).toBe(2);
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({ granted: 2, withdrawn: 1, timedOut: 0, rejected: 0 }),
      );
    });
  });

  describe('timeout', () => {
    it('errors with PermitTimeoutError at the deadline; the factory is never called', () => {
      const semaphore = new Semaphore(1, { name: 'db' });
      let factoryCalls = 0;
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(usingLease(semaphore, () => cold('------|'))).toBe('------|');
        expectObservable(
          usingLease(
            semaphore,
            () => {
              factoryCalls++;
              return cold('a|');
            },
            { timeout: 4 },
          ),
          '-^',
        ).toBe('-----#', undefined, permitTimeout(4, 1, 'Semaphore "db"'));
      });
      expect(factoryCalls).toBe(0);
      expect(semaphore.stats()).toEqual(jasmine.objectContaining({ granted: 1, timedOut: 1 }));
    });

    it('with a fallback, switches to it at the deadline; granted first, it runs the factory instead', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable }) => {
        const holder = cold('---|');
        expectObservable(usingLease(semaphore, () => holder)).toBe('---|');
        expectObservable(
          usingLease(semaphore, () => cold('a|'), { timeout: 2, with: () => cold('f|') }),
        ).toBe('--f|');
        expectObservable(
          usingLease(semaphore, () => cold('b|'), { timeout: 4, with: () => cold('f|') }),
        ).toBe('---b|');
      });
      expect(semaphore.value).toBe(1);
    });
  });

  describe('priority', () => {
    it('serves a lease of higher priority first; FIFO within a priority', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable }) => {
        const leased = (label: string, priority: number) =>
          usingLease(semaphore, () => cold('-x|', { x: label }), { priority });
        expectObservable(usingLease(semaphore, () => cold('---|'))).toBe('---|');
        // Subscribed while the first holds the permit: served by priority, then arrival.
        expectObservable(leased('a', 0), '^').toBe('----------a|');
        expectObservable(leased('b', 1), '-^').toBe('------b|');
        expectObservable(leased('c', 0), '--^').toBe('------------c|');
        expectObservable(leased('d', 1), '--^').toBe('--------d|');
        expectObservable(leased('e', 3), '--^').toBe('----e|');
      });
      expect(semaphore.value).toBe(1);
    });
  });

  describe('DummySemaphore', () => {
    it('calls the factory at once in every subscription frame, with tokens of its own', () => {
      const dummy = new DummySemaphore();
      testScheduler.run(({ cold, expectObservable }) => {
        const leased: Observable<number> = usingLease(dummy, (lease) => cold('-t|', { t: lease.token }));
        expectObservable(leased).toBe('-1|', { 1: 1 });
        expectObservable(leased, '--^').toBe('---2|', { 2: 2 });
        expectObservable(
          usingLease(dummy, () => NEVER, { timeout: 1 }),
          '--^--!',
        ).toBe('');
      });
    });
  });
});
