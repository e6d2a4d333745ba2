export { Semaphore } from './semaphore.js';
export { BoundedSemaphore } from './bounded-semaphore.js';
export { DummySemaphore } from './dummy-semaphore.js';
export { PermitTimeoutError, PermitRejectedError, OverReleaseError, LockOwnershipError } from './errors.js';
export type { AcquireOptions, WaitOptions, PrimitiveOptions } from './types.js';
