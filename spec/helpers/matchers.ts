import { PermitRejectedError, PermitTimeoutError } from '../../src/index.js';

/** Matches exactly a PermitTimeoutError with these numbers. */
export function permitTimeout(
  timeout: number,
  permits: number,
  primitive = 'Semaphore',
): jasmine.AsymmetricMatcher<unknown> {
  return {
    asymmetricMatch: (error) =>
      error instanceof PermitTimeoutError &&
      error.name === 'PermitTimeoutError' &&
      error.primitive === primitive &&
      error.timeout === timeout &&
      error.permits === permits,
    jasmineToString: () => `<PermitTimeoutError ${primitive} timeout=${timeout} permits=${permits}>`,
  };
}

/** Matches exactly a PermitRejectedError with these numbers. */
export function permitRejected(
  permits: number,
  waiting: number,
  maxWaiting: number,
  primitive = 'Semaphore',
): jasmine.AsymmetricMatcher<unknown> {
  return {
    asymmetricMatch: (error) =>
      error instanceof PermitRejectedError &&
      error.name === 'PermitRejectedError' &&
      error.primitive === primitive &&
      error.permits === permits &&
      error.waiting === waiting &&
      error.maxWaiting === maxWaiting,
    jasmineToString: () =>
      `<PermitRejectedError ${primitive} permits=${permits} waiting=${waiting} maxWaiting=${maxWaiting}>`,
  };
}
