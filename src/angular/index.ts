export { permitInterceptor } from './permit-interceptor.js';
export type { PermitPoolSource } from './permit-interceptor.js';
export { PERMIT_CONTEXT } from './permit-context.js';
export type { PermitRequestOptions } from './permit-context.js';
export { permitsSignal } from './permits-signal.js';
export type { PermitsSignalOptions } from './permits-signal.js';
