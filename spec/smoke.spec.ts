import { Semaphore } from '../src/index.js';

describe('Semaphore (smoke)', () => {
  it('grants queued requests in FIFO order on release', () => {
    const semaphore = new Semaphore(1);
    const order: number[] = [];
    semaphore.tryAcquire();
    for (let i = 0; i < 3; i++) semaphore.acquire().subscribe(() => order.push(i));
    semaphore.release();
    semaphore.release();
    semaphore.release();
    expect(order).toEqual([0, 1, 2]);
  });
});
