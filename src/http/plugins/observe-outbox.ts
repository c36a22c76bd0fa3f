// Queue visibility: outbox gauges read at scrape time, the worker's events as counters, and a periodic
// log line while there is work (no addresses: counts only).
import client from '@prometheus-io/client'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

export default fp(async function observeOutbox (app: FastifyInstance) {
  const { outbox } = app
  const registers = app.appMetrics ? [app.appMetrics.registry] : []
  const gauge = (name: string, help: string, read: () => number) => new client.Gauge({
    name, help, registers, collect () { this.set(read()) }
  })
  gauge('leadlink_outbox_pending', 'emails owed that this instance holds', () => outbox.stats().pending)
  gauge('leadlink_outbox_batches', 'outbox objects seen at the last scan (all instances)', () => outbox.stats().batches)
  gauge('leadlink_outbox_oldest_pending_seconds', 'age of the oldest email still owed', () => outbox.stats().oldestPendingAgeMs / 1000)
  gauge('leadlink_send_rate_limit', 'emails per second this instance allows itself (SES MaxSendRate or SES_MAX_SEND_RATE)', () => outbox.stats().maxSendRate)
  gauge('leadlink_sends_per_second', 'emails sent per second over the last 10 seconds', () => outbox.stats().sendsPerSecond)
  const retries = new client.Counter({ name: 'leadlink_email_retries_total', help: 'send attempts that will be retried, by reason', labelNames: ['reason'] as const, registers })
  outbox.events.on('minted', () => app.appMetrics?.linkMinted('email'))
  outbox.events.on('sent', () => app.appMetrics?.emailSent())
  outbox.events.on('failed', reason => app.appMetrics?.emailFailed(reason))
  outbox.events.on('retried', reason => retries.inc({ reason }))

  const log = app.log.child({ component: 'outbox' })
  let last = ''
  const timer = setInterval(() => {
    const s = outbox.stats()
    const line = JSON.stringify([s.pending, s.sent, s.retries, s.failures])
    if (s.pending > 0 || line !== last) {
      log.info({ pending: s.pending, batches: s.batches, oldestPendingSeconds: Math.round(s.oldestPendingAgeMs / 1000), sent: s.sent, sendsPerSecond: s.sendsPerSecond, retries: s.retries, throttled: s.throttled, failures: s.failures, maxSendRate: s.maxSendRate }, 'outbox')
    }
    last = line
  }, 30_000)
  timer.unref()
  app.addHook('onClose', async () => clearInterval(timer))
}, { name: 'observe-outbox', dependencies: ['outbox'] })
