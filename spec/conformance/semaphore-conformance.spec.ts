import { blockingBackends, neverBlockingBackends } from './backends.js';
import { describeNeverBlocksConformance, describeSemaphoreConformance } from './semaphore-suite.js';

// The shared conformance suite (./semaphore-suite.ts) against every backend of ./backends.ts, in
// Node and in Chromium. RedisSemaphore runs it in Node only: spec/redis/redis-conformance.node.spec.ts.

for (const backend of blockingBackends) describeSemaphoreConformance(backend);
for (const backend of neverBlockingBackends) describeNeverBlocksConformance(backend);
