export { BackendSemaphore } from './backend-semaphore.js';
export { Semaphore } from './semaphore.js';
export { BoundedSemaphore } from './bounded-semaphore.js';
export { DummySemaphore } from './dummy-semaphore.js';
export {
  PermitTimeoutError,
  PermitRejectedError,
  OverReleaseError,
  LockOwnershipError,
  PermitBackendError,
  PermitLostError,
} from './errors.js';
export type {
  Lease,
  PermitBackend,
  PermitDemand,
  PermitGrantee,
  PermitRefusal,
  PermitStats,
  PermitTicket,
  ReadyListener,
  ValueListener,
} from './core/permit-backend.js';
export type { AcquireOptions, WaitOptions, PrimitiveOptions, PermitPool, LeaseOptions } from './types.js';
export { withPermit } from './operators/with-permit.js';
export { boundedPermit } from './operators/bounded-permit.js';
export { mergeMapWithPermit } from './operators/merge-map-with-permit.js';
export { usingLease } from './operators/using-lease.js';
export type { PermitOptions, BoundedPermitOptions } from './operators/options.js';
export { RLock } from './rlock.js';
export { reentrant } from './operators/reentrant.js';
export type { ReentrantOptions } from './operators/reentrant.js';
export { SharedSemaphore } from './shared/shared-semaphore.js';
export type {
  SharedSemaphoreHandle,
  SharedSemaphoreOptions,
  WatchedWorker,
} from './shared/shared-semaphore.js';
