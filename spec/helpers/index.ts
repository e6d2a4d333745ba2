// The helpers of spec/ and marble-tests/, in one place: spec files import them from here, never
// from one another (a `*.spec.ts` exports nothing; a helper defines no `describe` or `it`).
export * from './bad-input.js';
export * from './faults.js';
export * from './matchers.js';
export * from './observe.js';
export * from './primitives.js';
export * from './schedulers.js';
export * from './unhandled-errors.js';
export * from './unhandled-rejections.js';
