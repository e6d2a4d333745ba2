import type { Subscriber, TeardownLogic } from 'rxjs';
import type { ValueListener } from '../core/permit-backend.js';

/**
 * The subscribe function of a primitive's permit observable: a subscriber is told the value now,
 * then every settled change (rule 12, docs/semantics.md), until it unsubscribes.
 */
export function subscribeToValue(backend: {
  watchValue(listener: ValueListener): () => void;
}): (subscriber: Subscriber<number>) => TeardownLogic {
  return (subscriber) => backend.watchValue(subscriber);
}
