// The retention sweep in the service (src/privacy/retention.ts): every RETENTION_SWEEP_SECONDS (0: off,
// leaving `npm run signups -- sweep`), one bounded run; the lease lets one instance at a time sweep. It
// erases through the rights plugin, the same erasure as /admin's and the self-service page's.
import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { systemClock } from '../../clock.ts'
import { createRetentionSweep, type RetentionSweep } from '../../privacy/retention.ts'
import { createJsonStore } from '../../storage/json-store.ts'
import type { ServiceDeps } from './deps.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** one bounded run on demand (tests, a scheduled Lambda); the timer calls the same */
    retention: RetentionSweep
  }
}

export default fp(async function retention (app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { config, aws, rights } = app
  const json = createJsonStore({ s3: aws.s3, bucket: config.aws.s3.bucket })
  const now = opts.deps.now ?? systemClock
  const log = app.log.child({ component: 'retention' })
  const sweep = createRetentionSweep({
    json,
    erase: (target, options) => rights.erase(target, options),
    rules: { pendingDays: config.privacy.pendingRetentionDays, unsubscribedDays: config.privacy.unsubscribedRetentionDays },
    owner: `${config.outbox.instanceName}-${randomBytes(4).toString('hex')}`,
    now,
    log
  })
  app.decorate('retention', sweep)

  const every = config.privacy.sweepIntervalMs
  if (every === 0) return
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      if (running) return
      running = sweep.run().then(report => {
        if (report.erased > 0 || report.failed > 0) log.info({ ...report }, 'retention sweep run')
      }, err => { log.warn({ err }, 'retention sweep failed; the next run goes on from its last checkpoint') })
        .finally(() => { running = undefined })
    }, every)
    timer.unref()
  })
  // A run in progress finishes (and releases its lease) before the S3 client is destroyed.
  app.addHook('preClose', async () => {
    clearInterval(timer)
    await running
  })
}, { name: 'retention', dependencies: ['config', 'aws', 'rights'] })
