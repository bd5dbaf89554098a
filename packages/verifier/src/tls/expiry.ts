/**
 * A connection accepted under a waiver or a grace window must not outlive it: the decision's
 * `validUntil` (unix seconds) becomes a timer that destroys the socket. The time left is read once
 * from the decision clock at accept and then counted on the monotonic clock, so a wall-clock step
 * cannot stretch it. Node timers hold at most 2^31-1 ms (about 24.8 days): longer waits re-arm.
 */
import type { Socket } from 'node:net';

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Destroys `sock` once `clock()` (unix ms) reaches `validUntil` seconds; at once when already past.
 * The timer is unref'd and cleared when the socket closes first.
 *
 * @example closeAtExpiry(sock, decision.validUntil, Date.now)
 */
export function closeAtExpiry(sock: Socket, validUntil: number, clock: () => number): void {
  let timer: NodeJS.Timeout | undefined;
  const deadline = performance.now() + (validUntil * 1000 - clock());
  const arm = (): void => {
    const left = deadline - performance.now();
    if (left <= 0) {
      sock.destroy();
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  sock.once('close', () => clearTimeout(timer));
  arm();
}
