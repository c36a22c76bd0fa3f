// The sender: drains the outbox at SES's pace. Batches written by this instance are sent at once;
// a periodic scan claims batches whose lease expired (a crashed or stopped instance). Progress is
// checkpointed into the batch object, so a crash re-sends at most the last few emails.
import { setTimeout as sleep } from 'node:timers/promises'
import type { ConfirmationEmail } from '../mail/confirmation-email.ts'
import type { Sender } from '../mail/sender.ts'
import type { RecipientLinks } from '../links/recipient-links.ts'
import { capHistory, updateSubscriber, upsertSubscriber, WriteConflict, type Delivery, type StoredRecord, type SubscriberStore } from '../subscribers/store.ts'
import type { Catalog } from '../whitepapers/catalog.ts'
import type { DownloadLinks } from '../whitepapers/download-links.ts'
import type { TokenBucket } from './rate.ts'
import { classifySendError } from './ses-errors.ts'
import { isNotFound } from '../aws/errors.ts'
import { batchTime, type OutboxBatch, type OutboxItem, type OutboxStore } from './store.ts'

export interface SenderLogger {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export interface SenderEvents {
  /** a download link was put into an email (minted, or reused within its window) */
  minted?: () => void
  sent?: () => void
  failed?: (reason: string) => void
  retried?: (reason: string) => void
}

export interface OutboxSenderOptions {
  store: OutboxStore
  subscribers: SubscriberStore
  catalog: Catalog
  links: DownloadLinks
  email: ConfirmationEmail
  sender: Sender
  recipientLinks: RecipientLinks
  rate: TokenBucket
  owner: string
  leaseMs: number
  scanIntervalMs: number
  linkTtlSeconds: number
  maxAttempts: number
  /** SES calls in flight at once */
  concurrency: number
  log: SenderLogger
  events?: SenderEvents
  now?: () => number
}

interface Work {
  batch: OutboxBatch
  etag: string
  /** claimed from the outbox (not written by this instance): subscriber status is re-read */
  recovered: boolean
  /** the lease was taken by another instance: stop touching this batch */
  lost: boolean
  /** every item is resolved and the batch object is being deleted */
  finishing: boolean
  inFlight: Set<string>
  sinceCheckpoint: number
  lastCheckpoint: number
  writing: Promise<void>
  /** record ETags known from the signup, to update delivery history without a read */
  recordEtags: Map<string, StoredRecord>
}

interface Ready { work: Work, item: OutboxItem }

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

const CHECKPOINT_EVERY = 20
const CHECKPOINT_MS = 250
const BACKOFF_BASE_MS = 500
const BACKOFF_MAX_MS = 60_000

export type OutboxSender = ReturnType<typeof createOutboxSender>

export function createOutboxSender (options: OutboxSenderOptions) {
  const { store, rate, owner, leaseMs, log } = options
  const now = options.now ?? Date.now
  const works = new Map<string, Work>()
  const ready: Ready[] = []
  const timers = new Set<NodeJS.Timeout>()
  const inFlight = new Set<Promise<void>>()
  const suppressed = new Set<string>()
  const abort = new AbortController()
  const sentTimes: number[] = []
  const stats = { sent: 0, retries: 0, throttled: 0, failures: {} as Record<string, number>, batches: 0, oldestBatchAt: 0 }
  let wake: (() => void) | undefined
  let stopping = false
  let loop: Promise<void> | undefined
  let scanner: Promise<void> | undefined

  function notify (): void {
    const w = wake
    wake = undefined
    w?.()
  }

  function enqueueOwed (work: Work): void {
    const at = now()
    for (const item of work.batch.items) {
      if (work.batch.done[item.id]) continue
      const retry = work.batch.retries[item.id]
      const due = retry ? Date.parse(retry.notBefore) : 0
      if (due > at) schedule(work, item, due - at)
      else ready.push({ work, item })
    }
    notify()
  }

  function schedule (work: Work, item: OutboxItem, delayMs: number): void {
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!stopping && !work.lost) {
        ready.push({ work, item })
        notify()
      }
    }, delayMs)
    timer.unref()
    timers.add(timer)
  }

  /** Writes the batch's progress and renews the lease; serialised per batch. */
  function checkpoint (work: Work, release = false): Promise<void> {
    work.writing = work.writing.then(async () => {
      // A finishing batch is being deleted: only its release (on failure to delete) is still written.
      if (work.lost || (work.finishing && !release)) return
      work.batch.owner = owner
      work.batch.leaseUntil = new Date(release ? now() : now() + leaseMs).toISOString()
      work.sinceCheckpoint = 0
      work.lastCheckpoint = now()
      try {
        work.etag = await store.replace(work.batch, work.etag)
      } catch (err) {
        if (err instanceof WriteConflict || isNotFound(err)) {
          work.lost = true
          log.warn({ batch: work.batch.id }, 'outbox batch was claimed or finished elsewhere; leaving it')
        } else {
          log.warn({ err, batch: work.batch.id }, 'outbox checkpoint failed; will retry')
        }
      }
    })
    return work.writing
  }

  async function finishIfDone (work: Work): Promise<void> {
    if (work.lost || work.finishing || work.inFlight.size > 0) return
    if (!work.batch.items.every(i => work.batch.done[i.id])) return
    work.finishing = true
    await work.writing
    try {
      await store.log(work.batch, new Date(now())).catch(err => {
        log.warn({ err, batch: work.batch.id }, 'could not write the delivery log of a finished batch')
      })
      await store.remove(work.batch.id)
    } catch (err) {
      // Harmless once every item is marked done in S3: whoever claims it next just deletes it.
      log.warn({ err, batch: work.batch.id }, 'could not delete a finished outbox batch')
      await checkpoint(work, true)
    } finally {
      // Tracked until gone from S3, so that a scan never mistakes it for someone else's leftovers.
      works.delete(work.batch.id)
    }
  }

  function fail (reason: string): void {
    stats.failures[reason] = (stats.failures[reason] ?? 0) + 1
    options.events?.failed?.(reason)
  }

  async function recordOnSubscriber (hash: string, known: StoredRecord | undefined, delivery: Delivery): Promise<void> {
    const apply = (record: StoredRecord['record']) => {
      const index = record.deliveries.findIndex(d => d.outboxId !== undefined && d.outboxId === delivery.outboxId)
      if (index >= 0) record.deliveries[index] = { ...record.deliveries[index], ...delivery }
      else record.deliveries = capHistory([...record.deliveries, delivery])
      record.updatedAt = new Date(now()).toISOString()
      return record
    }
    if (known) await upsertSubscriber(options.subscribers, hash, () => known.record, apply, 5, known)
    else await updateSubscriber(options.subscribers, hash, apply)
  }

  /** Failures go onto the subscriber's history, where marketers see them (they are rare: written at once). */
  async function recordFailure (work: Work, item: OutboxItem, delivery: Delivery): Promise<void> {
    try {
      await recordOnSubscriber(item.addressHash, work.recordEtags.get(item.id), delivery)
    } catch (err) {
      log.warn({ err, addressHash: item.addressHash.slice(0, 12) }, 'could not record a failed delivery on the subscriber')
    }
  }

  async function deliverable (work: Work, item: OutboxItem): Promise<boolean> {
    if (suppressed.has(item.addressHash)) return false
    if (!work.recovered) return true
    // A batch from another instance may be old: the address may have unsubscribed or bounced since.
    const stored = await options.subscribers.get(item.addressHash)
    if (!stored) return false
    const { record } = stored
    if (record.status === 'suppressed') return false
    if (record.status === 'unsubscribed' && record.unsubscription && record.unsubscription.at > item.requestedAt) return false
    return true
  }

  async function deliver (work: Work, item: OutboxItem): Promise<void> {
    const fields = { addressHash: item.addressHash.slice(0, 12), batch: work.batch.id, item: item.id }
    if (Date.parse(work.batch.leaseUntil) - now() < leaseMs / 3) await checkpoint(work)
    if (work.lost) return
    const base: Delivery = { at: item.requestedAt, slug: item.slug, status: 'requested', outboxId: item.id }
    if (!await deliverable(work, item)) {
      work.batch.done[item.id] = 'skipped'
      log.info(fields, 'email no longer owed (unsubscribed or suppressed since)')
      return
    }
    const pointer = await options.catalog.current(item.slug)
    if (!pointer) {
      work.batch.done[item.id] = 'failed'
      fail('whitepaper_gone')
      await recordFailure(work, item, { ...base, status: 'failed', error: 'whitepaper_gone' })
      return
    }
    const link = await options.links.mint(pointer, options.linkTtlSeconds)
    options.events?.minted?.()
    const links = options.recipientLinks.forEmail(item.addressHash, pointer.slug)
    const rendered = options.email.render({ pointer, link, links, returning: item.kind === 'returning' })
    try {
      const messageId = await options.sender.send({
        to: item.address,
        ...rendered,
        // RFC 8058 one-click unsubscribe, which Gmail and Yahoo require of subscription mail.
        headers: [
          { name: 'List-Unsubscribe', value: `<${links.unsubscribeUrl}>` },
          { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' }
        ]
      })
      work.batch.done[item.id] = 'sent'
      delete work.batch.retries[item.id]
      // The outcome goes to the batch (and then the delivery log), not to the subscriber record:
      // one write per batch instead of one per email.
      work.batch.results = { ...work.batch.results, [item.id]: { messageId, version: pointer.version, linkExpiresAt: link.expiresAt.toISOString(), sentAt: new Date(now()).toISOString() } }
      stats.sent++
      sentTimes.push(now())
      options.events?.sent?.()
      log.info({ ...fields, messageId, version: pointer.version }, 'email sent')
    } catch (err) {
      const failure = classifySendError(err)
      const attempts = (work.batch.retries[item.id]?.attempts ?? 0) + 1
      if (failure.kind === 'retry' && attempts < options.maxAttempts) {
        // Exponential backoff with full jitter: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
        const delay = Math.max(50, Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempts - 1)))
        work.batch.retries[item.id] = { attempts, notBefore: new Date(now() + delay).toISOString(), lastError: failure.reason }
        stats.retries++
        options.events?.retried?.(failure.reason)
        if (failure.throttled) {
          stats.throttled++
          rate.pause(Math.min(2000, 1000 / rate.rate * 10))
        }
        log.warn({ ...fields, reason: failure.reason, attempts, retryInMs: Math.round(delay) }, 'send failed; will retry')
        schedule(work, item, delay)
        return
      }
      const reason = failure.kind === 'retry' ? 'retries_exhausted' : failure.reason
      work.batch.done[item.id] = 'failed'
      delete work.batch.retries[item.id]
      fail(reason)
      log.error({ ...fields, reason, attempts }, 'email not sent: giving up on this recipient')
      await recordFailure(work, item, { ...base, status: 'failed', error: reason })
    }
  }

  function launch (entry: Ready): void {
    const { work, item } = entry
    work.inFlight.add(item.id)
    const task = deliver(work, item)
      .catch(err => {
        // S3 or catalog trouble: the item stays owed and is retried shortly.
        log.warn({ err, batch: work.batch.id }, 'could not process an outbox item; will retry')
        schedule(work, item, 1000)
      })
      .then(async () => {
        work.inFlight.delete(item.id)
        work.sinceCheckpoint++
        if (work.sinceCheckpoint >= CHECKPOINT_EVERY || now() - work.lastCheckpoint >= CHECKPOINT_MS) await checkpoint(work)
        await finishIfDone(work)
      })
      .finally(() => {
        inFlight.delete(task)
        notify()
      })
    inFlight.add(task)
  }

  async function run (): Promise<void> {
    while (!stopping) {
      const entry = ready.shift()
      if (!entry) {
        await new Promise<void>(resolve => { wake = resolve })
        continue
      }
      if (entry.work.lost || entry.work.batch.done[entry.item.id] || entry.work.inFlight.has(entry.item.id)) continue
      while (inFlight.size >= options.concurrency && !stopping) await new Promise<void>(resolve => { wake = resolve })
      try {
        await rate.take(abort.signal)
      } catch {
        ready.unshift(entry)
        return
      }
      if (stopping) {
        ready.unshift(entry)
        return
      }
      launch(entry)
    }
  }

  /** Claims batches whose lease ran out: left by a crashed instance, or released at shutdown. */
  async function scanOnce (): Promise<void> {
    const ids = await store.list()
    stats.batches = ids.length
    stats.oldestBatchAt = ids.length > 0 ? batchTime(ids[0] as string) : 0
    for (const id of ids) {
      if (stopping || works.has(id)) continue
      if (ready.length > 5000) break
      try {
        await claim(id)
      } catch (err) {
        // One unreadable batch must not stop the others from being claimed.
        log.warn({ err, batch: id }, 'could not claim an outbox batch; will retry')
      }
    }
  }

  async function claim (id: string): Promise<void> {
    const stored = await store.read(id)
    if (!stored) return
    const { batch, etag } = stored
    // A live lease is respected, ours included (a batch of ours that is not tracked is being deleted).
    if (Date.parse(batch.leaseUntil) > now()) return
    batch.owner = owner
    batch.leaseUntil = new Date(now() + leaseMs).toISOString()
    let claimed: string
    try {
      claimed = await store.replace(batch, etag)
    } catch (err) {
      if (err instanceof WriteConflict) return
      throw err
    }
    const work: Work = { batch, etag: claimed, recovered: true, lost: false, finishing: false, inFlight: new Set(), sinceCheckpoint: 0, lastCheckpoint: now(), writing: Promise.resolve(), recordEtags: new Map() }
    works.set(id, work)
    log.info({ batch: id, owed: batch.items.filter(i => !batch.done[i.id]).length }, 'claimed an outbox batch')
    enqueueOwed(work)
    await finishIfDone(work)
  }

  async function scanLoop (): Promise<void> {
    while (!stopping) {
      try {
        await scanOnce()
      } catch (err) {
        log.warn({ err }, 'outbox scan failed; will retry')
      }
      try {
        await sleep(options.scanIntervalMs, undefined, { signal: abort.signal })
      } catch {
        return
      }
    }
  }

  return {
    start (): void {
      if (loop) return
      loop = run()
      scanner = scanLoop()
    },

    /** A batch this instance just wrote (and holds the lease on): send it right away. */
    accept (batch: OutboxBatch, etag: string, records: Map<string, StoredRecord> = new Map()): void {
      const work: Work = { batch, etag, recovered: false, lost: false, finishing: false, inFlight: new Set(), sinceCheckpoint: 0, lastCheckpoint: now(), writing: Promise.resolve(), recordEtags: records }
      works.set(batch.id, work)
      if (!stopping) enqueueOwed(work)
    },

    /** Subscribes to sends, failures and retries (metrics). */
    on (events: SenderEvents): void {
      const previous = options.events ?? {}
      options.events = {
        minted: () => { previous.minted?.(); events.minted?.() },
        sent: () => { previous.sent?.(); events.sent?.() },
        failed: reason => { previous.failed?.(reason); events.failed?.(reason) },
        retried: reason => { previous.retried?.(reason); events.retried?.(reason) }
      }
    },

    /** An address that bounced or complained: drop what is owed to it. */
    suppress (addressHash: string): void {
      suppressed.add(addressHash)
    },

    /** Runs one scan now (tests, and the first start). */
    scan: scanOnce,

    stats (): QueueStats {
      const at = now()
      while (sentTimes.length > 0 && (sentTimes[0] as number) < at - 10_000) sentTimes.shift()
      let pending = 0
      let oldest = stats.oldestBatchAt
      for (const work of works.values()) {
        const owed = work.batch.items.filter(i => !work.batch.done[i.id]).length
        pending += owed
        if (owed > 0) {
          const t = batchTime(work.batch.id)
          if (oldest === 0 || t < oldest) oldest = t
        }
      }
      return {
        pending,
        inFlight: inFlight.size,
        batches: stats.batches,
        oldestPendingAgeMs: oldest === 0 ? 0 : Math.max(0, at - oldest),
        sent: stats.sent,
        sendsPerSecond: sentTimes.length / 10,
        retries: stats.retries,
        throttled: stats.throttled,
        failures: { ...stats.failures },
        maxSendRate: rate.rate
      }
    },

    /**
     * Stops taking work, lets in-flight sends finish until the deadline, then releases the leases of
     * what is left so that the next instance (or this one restarted) sends it without waiting.
     */
    async stop (deadlineMs: number): Promise<void> {
      if (stopping) return
      stopping = true
      abort.abort()
      notify()
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const deadline = sleep(deadlineMs, undefined, { ref: false })
      await Promise.race([Promise.allSettled([...inFlight]), deadline])
      await Promise.race([Promise.allSettled([loop, scanner]), deadline])
      await Promise.race([Promise.allSettled([...works.values()].map(async work => {
        if (work.batch.items.every(i => work.batch.done[i.id]) && work.inFlight.size === 0) {
          await finishIfDone(work)
        } else {
          await checkpoint(work, true)
        }
      })), deadline])
      ready.length = 0
    }
  }
}
