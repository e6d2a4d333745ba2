import type { SchedulerLike } from 'rxjs';
import type { PermitSource } from '../core/permit-source.js';

/**
 * What an operator needs of a primitive: its {@link PermitSource} (`null` for a primitive that never
 * blocks, whose streams pass through untouched) and its default scheduler for timeouts.
 */
export interface GateTarget {
  readonly source: PermitSource | null;
  readonly scheduler: SchedulerLike | undefined;
}

// A WeakMap rather than a public property keeps the engine out of the public type surface.
const targets = new WeakMap<object, GateTarget>();

export function registerGateTarget(primitive: object, target: GateTarget): void {
  targets.set(primitive, target);
}

/** The target behind `primitive`, or a TypeError naming the call when it is not one of ours. */
export function gateTargetOf(where: string, argument: string, primitive: unknown): GateTarget {
  const target = typeof primitive === 'object' && primitive !== null ? targets.get(primitive) : undefined;
  if (target === undefined) {
    throw new TypeError(`${where}: ${argument} must be a Semaphore, BoundedSemaphore or DummySemaphore`);
  }
  return target;
}
