// While visitors' requests pile up (a campaign's burst), the sender goes at a quarter of its pace:
// answering them comes first, and what it owes is durable in the outbox and sent right after.
// Measured: a burst of 1,500 signups at 50 connections answered with p99 250 ms while the sender
// ran at 100/s beside it, 205 ms with the sender off (SENDER=off; three bursts each, one machine).
import { setTimeout as sleep } from 'node:timers/promises'
import type { SendPacing } from './ports.ts'

/** While busy, each send waits this many more of its own intervals: a quarter of the pace. */
const BUSY_SLOWDOWN = 3

export interface YieldOptions {
  /** visitors' requests in flight now */
  inFlight: () => number
  /** from this many on, the sender yields; 0 never */
  threshold: number
  /** for tests */
  wait?: (ms: number, signal?: AbortSignal) => Promise<unknown>
}

export function yieldingPace (pace: SendPacing, options: YieldOptions): SendPacing {
  const wait = options.wait ?? ((ms: number, signal?: AbortSignal) => sleep(ms, undefined, signal ? { signal } : {}))
  return {
    get rate (): number { return pace.rate },
    async take (signal?: AbortSignal): Promise<void> {
      await pace.take(signal)
      // Never stops: a campaign that lasts an hour still gets its emails, at a quarter of the pace.
      if (options.threshold > 0 && options.inFlight() >= options.threshold && pace.rate > 0) {
        await wait(BUSY_SLOWDOWN * 1000 / pace.rate, signal)
      }
    },
    throttled: () => pace.throttled()
  }
}
