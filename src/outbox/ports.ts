// What the outbox worker asks of the rest of the service (its ports) and what it tells it (events).
// The implementations live with their features: deliver in src/delivery/compose.ts, isOwed and
// recordFailure in src/subscribers/owed.ts, the pace in src/outbox/rate.ts; src/http/plugins/outbox.ts joins them.
import type { OutboxItem, SendResult } from './store.ts'

/** What the outbox worker needs from its pacing (rate.ts's SharedPace; tests use a bare TokenBucket). */
export interface SendPacing {
  /** emails per second allowed now */
  readonly rate: number
  /** Resolves when one send may start. */
  take: (signal?: AbortSignal) => Promise<void>
  /** SES answered a throttling error: slow down. */
  throttled: () => void
}

/**
 * What the worker asks of the rest of the service. `Known` is whatever the signup handed over with
 * an item (the subscriber record as written), passed back to recordFailure to save a read.
 */
export interface OutboxPorts<Known> {
  /** composes and sends one email; throws a DeliveryFailure when it knows why it did not */
  deliver: (item: OutboxItem) => Promise<SendResult>
  /** false when the email is no longer owed; `recovered`: the batch was claimed, maybe old */
  isOwed: (item: OutboxItem, recovered: boolean) => Promise<boolean>
  /** keeps a failure where marketers see it */
  recordFailure: (item: OutboxItem, error: string, known: Known | undefined) => Promise<void>
}

/** Typed events for metrics: a link put into an email (minted or reused), a send, a failure, a retry. */
export interface OutboxEvents {
  minted: []
  sent: []
  failed: [reason: string]
  retried: [reason: string]
}

export interface WorkerLogger {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

/** One-shot sending (OutboxWorker.drain, the Lambda sender). */
export interface DrainOptions {
  /** the batches to claim; every batch in the outbox when not given */
  ids?: string[] | undefined
  /** clock ms after which no send starts */
  deadline: number
  /** after the deadline: how long in-flight sends and lease releases may take */
  graceMs: number
}

export interface DrainResult {
  /** batches claimed */
  claimed: number
  /** emails sent */
  sent: number
  /** emails still owed in the batches released at the deadline (the next drain's) */
  left: number
}
