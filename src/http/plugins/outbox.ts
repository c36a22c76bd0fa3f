// The outbox: signups are queued durably in S3 and sent in the background at SES's pace. The sender
// starts beside the server and stops gracefully; the writer is what the signup queues with.
import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { systemClock } from '../../clock.ts'
import { createLeases } from '../../outbox/leases.ts'
import { createSendRate } from '../../outbox/rate.ts'
import { createSenders } from '../../outbox/senders.ts'
import { createOutboxStore } from '../../outbox/store.ts'
import { createOutboxWorker, type DrainOptions, type DrainResult, type OutboxWorker } from '../../outbox/worker.ts'
import { createOutboxWriter, type OutboxWriter } from '../../outbox/writer.ts'
import { yieldingPace } from '../../outbox/yielding-pace.ts'
import { createJsonStore } from '../../storage/json-store.ts'
import { createOwedChecks } from '../../subscribers/owed.ts'
import type { StoredRecord } from '../../subscribers/store.ts'
import type { ServiceDeps } from './deps.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** the outbox worker: stats(), scan(), suppress(), accept(), start(), stop(), events */
    outbox: OutboxWorker<StoredRecord>
    /** queues emails durably (the signup's Outbox port) */
    outboxWriter: OutboxWriter<StoredRecord>
    /** one-shot sending where no loop runs (the Lambda sender, src/lambda-sender.ts) */
    outboxDrain: (options: DrainOptions) => Promise<DrainResult>
  }
}

export default fp(async function outbox (app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { config, aws, delivery } = app
  const clock = opts.deps.now ?? systemClock
  const owner = `${config.outbox.instanceName}-${randomBytes(4).toString('hex')}`
  const { leaseMs } = config.outbox
  const store = createOutboxStore({ s3: aws.s3, bucket: config.aws.s3.bucket })
  const log = app.log.child({ component: 'outbox' })
  // The running senders share the account's rate: each announces itself under senders/ and takes its part.
  const fleet = createSenders({ store: createJsonStore({ s3: aws.s3, bucket: config.aws.s3.bucket }), owner, periodMs: config.outbox.heartbeatMs, clock, log })
  const sendRate = createSendRate({ ses: aws.ses, override: config.aws.ses.maxSendRate, fleet, log: app.log })
  const owed = createOwedChecks({ store: app.subscribers, clock })
  const visitors = countRequestsInFlight(app)
  const worker = createOutboxWorker<StoredRecord>({
    leases: createLeases({ store, owner, leaseMs, clock, log }),
    ports: { deliver: delivery.deliver, isOwed: owed.isOwed, recordFailure: owed.recordFailure },
    rate: yieldingPace(sendRate.pace, { inFlight: visitors, threshold: config.outbox.yieldRequests }),
    scanIntervalMs: config.outbox.scanIntervalMs,
    maxAttempts: config.outbox.maxAttempts,
    concurrency: config.outbox.concurrency,
    // At this instance's share of the rate, half a lease's worth: the rest of a backlog stays for the others.
    claimAheadMs: leaseMs / 2,
    log,
    clock
  })
  app.decorate('outbox', worker)
  app.decorate('outboxWriter', createOutboxWriter<StoredRecord>({
    store,
    owner,
    // A process that does not send (SENDER=off: the Lambda HTTP function, a front-end container)
    // leaves its batches unleased, so that a sender claims them at once instead of after the lease.
    leaseMs: config.outbox.sender ? leaseMs : 0,
    onWritten: config.outbox.sender ? (batch, etag, known) => worker.accept(batch, etag, known) : () => {},
    clock
  }))

  // The sender starts beside the server, not before it: its SES round trips (the stored template,
  // the account's sending rate) must not hold up serving. Signups queue durably meanwhile.
  let senderStarting: Promise<void> | undefined
  let prepared: Promise<void> | undefined
  const prepare = () => (prepared ??= (async () => {
    if (config.aws.ses.templates) {
      await delivery.prepareTemplate().catch(err => {
        app.log.warn({ err: { name: (err as Error).name } }, 'SES would not store the email template: sending the whole email each time (allow ses:GetEmailTemplate and ses:CreateEmailTemplate)')
      })
    }
    await sendRate.start()
  })())
  app.decorate('outboxDrain', async (options: DrainOptions) => {
    await prepare()
    return await worker.drain(options)
  })
  if (config.outbox.sender) {
    app.addHook('onReady', async () => {
      senderStarting = (async () => {
        await prepare()
        worker.start()
      })().catch(err => {
        // Not expected (each step handles its own failures), but never an unhandled rejection.
        app.log.error({ err }, 'the sender did not start: signups are queued until an instance sends them')
      })
    })
  }
  // In-flight sends finish (within the grace period); the rest stays queued for the next instance.
  app.addHook('preClose', async () => {
    await senderStarting
    await worker.stop(config.outbox.shutdownGraceMs)
    // Only once nothing is sent any more: the others' shares grow when this heartbeat is gone.
    await sendRate.stop()
  })
}, { name: 'outbox', dependencies: ['config', 'aws', 'subscribers', 'delivery'] })

/** HTTP requests this instance is answering now (a response ends its request, finished or cut off). */
export function countRequestsInFlight (app: FastifyInstance): () => number {
  let inFlight = 0
  app.addHook('onRequest', async (_request, reply) => {
    inFlight++
    reply.raw.once('close', () => { inFlight-- })
  })
  return () => inFlight
}
