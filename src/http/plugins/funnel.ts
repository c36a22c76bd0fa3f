// The funnel: `app.funnel.record(step, subject)` counts an event in memory (never slows or fails a
// request), `app.funnel.read(range)` answers the report. Counts reach S3 every FUNNEL_FLUSH_SECONDS
// and when the app closes.
import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { systemClock } from '../../clock.ts'
import { createJsonStore } from '../../storage/json-store.ts'
import { createFunnelStore } from '../../funnel/store.ts'
import { createFunnelCounter } from '../../funnel/counter.ts'
import type { FunnelReader, FunnelStep, FunnelSubject } from '../../funnel/model.ts'
import type { ServiceDeps } from './deps.ts'

export interface Funnel extends FunnelReader {
  /** counts `n` (1) events of a step now, in memory */
  record: (step: FunnelStep, subject: FunnelSubject, n?: number, at?: number) => void
  /**
   * counts an event of a whitepaper's current version, looked up after the request (from the catalog's
   * cache), so that the route neither waits for it nor fails with it
   */
  recordCurrent: (step: FunnelStep, slug: string) => void
  /** counts a landing-page view, unless it is a HEAD or a browser's prefetch (nobody saw the page) */
  view: (request: FastifyRequest, subject: FunnelSubject) => void
  /** adds the counts in memory to S3 now (tests, close) */
  flush: () => Promise<void>
  /**
   * flushes when there are counts and the last flush is FUNNEL_FLUSH_SECONDS old: Lambda's timers stop
   * while its environment is frozen, so its handler calls this before answering
   */
  flushIfDue: () => Promise<void>
  /** counts in memory that S3 has not confirmed yet */
  unsaved: () => number
}

declare module 'fastify' {
  interface FastifyInstance {
    funnel: Funnel
  }
}

/** How many flush intervals pass between compactions of a month (a report reads at most these parts per instance). */
const COMPACT_EVERY_FLUSHES = 6

/** Prefetches and prerenders say so (Chromium: Sec-Purpose; older ones and Firefox: Purpose / X-Moz). */
function isPrefetch (request: FastifyRequest): boolean {
  const purpose = String(request.headers['sec-purpose'] ?? request.headers.purpose ?? request.headers['x-moz'] ?? '')
  return /prefetch|prerender/i.test(purpose)
}

export default fp(async function funnel (app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { config, aws, catalog } = app
  const clock = opts.deps.now ?? systemClock
  const store = createFunnelStore({ json: createJsonStore({ s3: aws.s3, bucket: config.aws.s3.bucket }) })
  const flushMs = config.funnel.flushMs
  const counter = createFunnelCounter({
    store,
    instance: `${config.outbox.instanceName}-${randomBytes(4).toString('hex')}`,
    clock,
    compactEveryMs: flushMs * COMPACT_EVERY_FLUSHES,
    log: app.log.child({ component: 'funnel' })
  })
  app.decorate('funnel', {
    read: store.read,
    record: counter.record,
    recordCurrent (step, slug) {
      const at = clock()
      catalog.current(slug).then(
        pointer => counter.record(step, { slug, version: pointer?.version ?? '' }, 1, at),
        () => counter.record(step, { slug, version: '' }, 1, at)
      )
    },
    view (request, subject) {
      if (request.method === 'GET' && !isPrefetch(request)) counter.record('views', subject)
    },
    flush: counter.flush,
    flushIfDue: () => counter.flushIfDue(flushMs),
    unsaved: counter.unsaved
  } satisfies Funnel)
  app.addHook('onReady', async () => { counter.start(flushMs) })
  // onClose hooks run in reverse order of registration: this flush runs before the S3 client is destroyed.
  app.addHook('onClose', async () => {
    await counter.stop()
    const left = counter.unsaved()
    if (left > 0) app.log.warn({ counts: left }, 'funnel counts could not be stored before closing: they are lost')
  })
}, { name: 'funnel', dependencies: ['config', 'aws', 'whitepapers'] })
