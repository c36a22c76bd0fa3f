// Queue statistics for metrics and the periodic log line: counters since start, sends over the
// last 10 seconds, and what the batches this instance holds still owe. Counts only, no addresses.
import type { Clock } from '../clock.ts'
import { countOwed } from './leases.ts'
import { batchTime, type OutboxBatch } from './store.ts'

export interface QueueStats {
  /** emails owed that this instance holds */
  pending: number
  inFlight: number
  /** outbox batches seen at the last scan (all instances) */
  batches: number
  oldestPendingAgeMs: number
  sent: number
  sendsPerSecond: number
  retries: number
  throttled: number
  failures: Record<string, number>
  maxSendRate: number
}

const WINDOW_MS = 10_000

export type QueueCounters = ReturnType<typeof createQueueCounters>

export function createQueueCounters (clock: Clock) {
  const sentTimes: number[] = []
  const failures: Record<string, number> = {}
  let sent = 0
  let retries = 0
  let throttled = 0
  let batches = 0
  let oldestBatchAt = 0

  return {
    sent (): void {
      sent++
      sentTimes.push(clock())
    },
    retried (wasThrottled: boolean): void {
      retries++
      if (wasThrottled) throttled++
    },
    failed (reason: string): void {
      failures[reason] = (failures[reason] ?? 0) + 1
    },
    /** What the last scan listed (ids, oldest first). */
    scanned (ids: string[]): void {
      batches = ids.length
      oldestBatchAt = ids.length > 0 ? batchTime(ids[0] as string) : 0
    },

    snapshot (held: Iterable<OutboxBatch>, inFlight: number, maxSendRate: number): QueueStats {
      const at = clock()
      while (sentTimes.length > 0 && (sentTimes[0] as number) < at - WINDOW_MS) sentTimes.shift()
      let pending = 0
      let oldest = oldestBatchAt
      for (const batch of held) {
        const owed = countOwed(batch)
        pending += owed
        if (owed > 0) {
          const t = batchTime(batch.id)
          if (oldest === 0 || t < oldest) oldest = t
        }
      }
      return {
        pending,
        inFlight,
        batches,
        oldestPendingAgeMs: oldest === 0 ? 0 : Math.max(0, at - oldest),
        sent,
        sendsPerSecond: sentTimes.length / (WINDOW_MS / 1000),
        retries,
        throttled,
        failures: { ...failures },
        maxSendRate
      }
    }
  }
}
