import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import type { PermitTicket } from '../core/permit-backend.js';

/**
 * Schedules the timeout of a queued request. If the scheduler throws, the request is withdrawn
 * before the error goes on (its teardown was not registered yet, so nobody else would withdraw it).
 */
export function scheduleOrWithdraw(
  scheduler: SchedulerLike | undefined,
  work: () => void,
  delay: number,
  ticket: PermitTicket,
): Subscription {
  try {
    return (scheduler ?? asyncScheduler).schedule(work, delay);
  } catch (error) {
    ticket.withdraw();
    throw error;
  }
}
