// AWS Lambda sender: S3 event notifications for new outbox objects (and an EventBridge schedule as a
// safety net) invoke it, and it sends what the outbox owes through the worker's one-shot drain,
// stopping before the invocation's time runs out. Event shape:
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
import type { App, ServiceDeps } from './app.ts'
import { systemClock } from './clock.ts'
import { lambdaConfig } from './lambda-config.ts'
import { lambdaHandler, type LambdaHandlerOf } from './lambda-start.ts'
import { batchIdOf } from './outbox/store.ts'
import type { DrainResult } from './outbox/worker.ts'

/** One record of an S3 event notification (the fields read here). */
export interface S3EventRecord {
  eventSource?: string
  eventName?: string
  s3?: { bucket?: { name?: string }, object?: { key?: string } }
}

/** An S3 notification (Records), S3's s3:TestEvent, or anything else (a schedule, a manual run): a sweep. */
export interface SenderEvent {
  Records?: S3EventRecord[]
  Event?: string
  [field: string]: unknown
}

export interface SenderContext {
  getRemainingTimeInMillis?: () => number
}

export interface SenderResult extends DrainResult {
  /** s3: the event's batches first; sweep: the whole outbox; test: S3's test event, nothing done */
  trigger: 's3' | 'sweep' | 'test'
}

export type SenderHandler = LambdaHandlerOf<SenderEvent, SenderContext, SenderResult>

/** No send starts in the invocation's last seconds: they are for the sends in flight and the releases. */
export const STOP_BEFORE_END_MS = 6000
/** Of those, what in-flight sends and lease releases may take (the rest is spare for returning). */
export const WIND_DOWN_MS = 4000
/** Without a Lambda context (a manual run): the time one invocation may take. */
const DEFAULT_REMAINING_MS = 60_000

/**
 * The batch ids an S3 notification names. Keys arrive URL-encoded as in a form (a space is "+");
 * records of another bucket or event, and objects that are not batches (outbox/settle/), are left out.
 */
export function batchIdsOf (event: SenderEvent, bucket: string): string[] {
  const ids = new Set<string>()
  for (const record of event.Records ?? []) {
    if (record.eventSource !== 'aws:s3' || !record.eventName?.startsWith('ObjectCreated:') || record.s3?.bucket?.name !== bucket) continue
    let key: string
    try {
      key = decodeURIComponent((record.s3.object?.key ?? '').replace(/\+/g, ' '))
    } catch {
      continue
    }
    const id = batchIdOf(key)
    if (id) ids.add(id)
  }
  return [...ids]
}

/** A sender over `env`. Exported for tests; Lambda uses `senderHandler` below. */
export function createSenderHandler (env: Record<string, string | undefined>, deps: ServiceDeps = {}): SenderHandler {
  const loaded = lambdaConfig(env)
  // Whatever SENDER says (the two functions may share their environment), no loop runs here: each
  // invocation drains and returns.
  const config = { ...loaded, outbox: { ...loaded.outbox, sender: false } }
  const clock = deps.now ?? systemClock
  async function send (built: App, event: SenderEvent, context: SenderContext): Promise<SenderResult> {
    // S3 sends this when the notification is configured: nothing to do.
    if (event.Event === 's3:TestEvent') return { trigger: 'test', claimed: 0, sent: 0, left: 0 }
    const remaining = () => context.getRemainingTimeInMillis?.() ?? DEFAULT_REMAINING_MS
    const deadline = clock() + remaining() - STOP_BEFORE_END_MS
    const total: SenderResult = { trigger: Array.isArray(event.Records) ? 's3' : 'sweep', claimed: 0, sent: 0, left: 0 }
    const drain = async (ids?: string[]) => {
      const result = await built.outboxDrain({ ids, deadline, graceMs: WIND_DOWN_MS })
      total.claimed += result.claimed
      total.sent += result.sent
      total.left = result.left
      return result
    }
    let last: DrainResult | undefined
    if (total.trigger === 's3') {
      const ids = batchIdsOf(event, config.aws.s3.bucket)
      // A batch already sent (and deleted) or leased by a running sender costs one GET, no listing.
      if (ids.length > 0) last = await drain(ids)
    }
    // The event's batches were claimable, so others may be waiting too (a burst writes one object per
    // signup on Lambda): keep draining the outbox while there is time and something to claim.
    // A sweep (the schedule) starts here: batches whose lease ran out, retries, lost events.
    // A drain that ran out of time left work behind: the rest is the next invocation's.
    if (total.trigger === 'sweep' || (last !== undefined && last.claimed > 0 && last.left === 0)) {
      do last = await drain()
      while (last.claimed > 0 && last.left === 0 && clock() < deadline)
    }
    built.log.info({ ...total }, 'outbox drained')
    return total
  }

  return lambdaHandler(config, deps, built => built,
    async (built, event: SenderEvent | undefined, context: SenderContext | undefined) => await send(built, event ?? {}, context ?? {}))
}

let cached: SenderHandler | undefined

/** The sender's Lambda handler: handler setting `lambda.senderHandler` (lambda.mjs at the package root). */
export async function senderHandler (event: SenderEvent, context?: SenderContext): Promise<SenderResult> {
  cached ??= createSenderHandler(process.env)
  return await cached(event, context)
}
