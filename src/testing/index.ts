export { SimulatedRemoteSemaphore } from './simulated-remote-semaphore.js';
export type { SimulatedRemoteOptions } from './simulated-remote-semaphore.js';
