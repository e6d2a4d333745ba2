export { Semaphore } from './semaphore.js';
export { BoundedSemaphore } from './bounded-semaphore.js';
export { DummySemaphore } from './dummy-semaphore.js';
export { PermitTimeoutError, PermitRejectedError, OverReleaseError, LockOwnershipError } from './errors.js';
export type { AcquireOptions, WaitOptions, PrimitiveOptions } from './types.js';
export { withPermit } from './operators/with-permit.js';
export { boundedPermit } from './operators/bounded-permit.js';
export { mergeMapWithPermit } from './operators/merge-map-with-permit.js';
export type { PermitOptions, BoundedPermitOptions } from './operators/options.js';
