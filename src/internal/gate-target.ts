import type { SchedulerLike } from 'rxjs';
import type { PermitBackend } from '../core/permit-backend.js';
import { describeValue } from './validate.js';

/**
 * What an operator needs of a primitive: its {@link PermitBackend} and its default scheduler for
 * timeouts.
 */
export interface GateTarget {
  readonly backend: PermitBackend;
  readonly scheduler: SchedulerLike | undefined;
}

// A non-enumerable property under a registered symbol keeps the engine out of the public type
// surface, and still works when an app loads both the ESM and the CommonJS build (a WeakMap per
// build would not recognise the other build's semaphores).
const GATE_TARGET = Symbol.for('rxjs-permits.gateTarget');

export function registerGateTarget(primitive: object, target: GateTarget): void {
  Object.defineProperty(primitive, GATE_TARGET, { value: target });
}

/** The target behind `primitive`, or a TypeError naming the call when it is not one of ours. */
export function gateTargetOf(where: string, argument: string, primitive: unknown): GateTarget {
  const target =
    typeof primitive === 'object' && primitive !== null
      ? ((primitive as Record<symbol, GateTarget | undefined>)[GATE_TARGET] ?? undefined)
      : undefined;
  if (target === undefined) {
    const isLock =
      typeof primitive === 'object' &&
      primitive !== null &&
      Symbol.for('rxjs-permits.lockTarget') in (primitive as object);
    throw new TypeError(
      isLock
        ? `${where}: ${argument} is an RLock, which has owners: gate a stream by it with reentrant(lock)`
        : `${where}: ${argument} must be a PermitPool (a Semaphore, BoundedSemaphore or DummySemaphore), got ${describeValue(primitive)}`,
    );
  }
  return target;
}
