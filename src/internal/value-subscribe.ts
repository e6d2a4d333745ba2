import type { Subscriber, TeardownLogic } from 'rxjs';
import type { ValueWatchers } from '../core/value-watchers.js';

/**
 * The subscribe function of a primitive's permit observable: a subscriber is told the value now,
 * then every settled change (rule 12, docs/semantics.md), until it unsubscribes.
 */
export function subscribeToValue(core: {
  readonly watchers: ValueWatchers;
  readonly value: number;
}): (subscriber: Subscriber<number>) => TeardownLogic {
  return (subscriber) => {
    const watch = core.watchers.watchValue(subscriber, core.value);
    return () => core.watchers.unwatchValue(watch);
  };
}
