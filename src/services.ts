// Services plugin: builds the stores, catalog, mailer and use cases once and exposes them typed.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createAwsClients, type AwsClients, type ClientOptions } from './aws/clients.ts'
import type { Config } from './config.ts'
import { systemClock, type Clock } from './clock.ts'
import { createConfirmationEmail } from './delivery/confirmation-email.ts'
import { createDelivery, type EmailDelivery } from './delivery/compose.ts'
import { createSesMessenger } from './delivery/ses-messenger.ts'
import { createSignup, type Signup } from './subscribers/signup.ts'
import { createSubscriberStore, type SubscriberStore } from './subscribers/store.ts'
import { createCatalog, type Catalog } from './whitepapers/catalog.ts'
import { createDownloadLinks, credentialsExpiry, type DownloadLinks } from './whitepapers/download-links.ts'
import { createRecipientLinks, type RecipientLinks } from './links/recipient-links.ts'
import { createTokenSigner } from './links/tokens.ts'
import { randomBytes } from 'node:crypto'
import { createSendRate } from './outbox/rate.ts'
import { createLeases } from './outbox/leases.ts'
import { createOutboxStore } from './outbox/store.ts'
import { createOutboxWorker, type OutboxWorker } from './outbox/worker.ts'
import { createOutboxWriter } from './outbox/writer.ts'
import { createOwedChecks } from './subscribers/owed.ts'
import type { StoredRecord } from './subscribers/store.ts'
import { createFormStamps, type FormStamps } from './abuse/form-stamp.ts'
import type { Altcha } from './abuse/altcha.ts'

export interface ServiceDeps {
  /** clients to use instead of creating them (then the caller destroys them) */
  aws?: AwsClients
  clientOptions?: ClientOptions
  templatesDir?: string
  now?: () => Date
}

export interface Services {
  config: Config
  aws: AwsClients
  catalog: Catalog
  links: DownloadLinks
  subscribers: SubscriberStore
  signup: Signup
  recipientLinks: RecipientLinks
  /** composes an outbox item's email (the admin preview shows the same) and delivers it */
  delivery: EmailDelivery
  /** the outbox worker: stats(), scan(), suppress(), accept(), start(), stop(), events */
  outbox: OutboxWorker<StoredRecord>
  formStamps: FormStamps
  /** present when CAPTCHA=altcha */
  altcha?: Altcha
  site: string
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services
  }
}

export default fp(async function services (app: FastifyInstance, opts: { config: Config, deps: ServiceDeps }) {
  const { config, deps } = opts
  const aws = deps.aws ?? createAwsClients(config, deps.clientOptions)
  if (!deps.aws) app.addHook('onClose', async () => aws.destroy())
  const site = new URL(config.http.publicUrl).host
  const { bucket } = config.aws.s3
  const catalog = createCatalog({
    s3: aws.s3, bucket, refreshMs: config.catalog.refreshMs, log: app.log, ...(deps.now ? { now: deps.now } : {})
  })
  const links = createDownloadLinks({ s3: aws.s3, bucket, ...(deps.now ? { now: () => deps.now!().getTime() } : {}) })
  const subscribers = createSubscriberStore({ s3: aws.s3, bucket })
  const { tokenSecrets } = config.links
  if (tokenSecrets.length === 0) throw new Error('TOKEN_SECRET is required to sign recipient links')
  const tokens = createTokenSigner(tokenSecrets, deps.now ? () => deps.now!().getTime() : Date.now)
  const recipientLinks = createRecipientLinks({
    tokens,
    store: subscribers,
    catalog,
    links,
    publicUrl: config.http.publicUrl,
    confirmTtlSeconds: config.links.confirmTtlSeconds,
    renewTtlSeconds: config.links.renewTtlSeconds,
    freshLinkTtlSeconds: config.links.freshTtlSeconds,
    ...(deps.now ? { now: deps.now } : {})
  })

  // Delivery: an outbox item becomes an email (link, templates, headers) sent by the SES messenger.
  const clock: Clock = deps.now ? () => deps.now!().getTime() : systemClock
  const email = createConfirmationEmail({
    subject: config.email.subject, site, windowDays: config.signup.windowDays, maxEmails: config.signup.maxEmails, ...(deps.templatesDir ? { templatesDir: deps.templatesDir } : {})
  })
  const messenger = createSesMessenger({ ses: aws.ses, from: config.aws.ses.from, configurationSet: config.aws.ses.configurationSet })
  const delivery = createDelivery({ catalog, links, recipientLinks, email, messenger, linkTtlSeconds: config.links.ttlSeconds, clock })

  // The outbox: signups are queued durably in S3 and sent in the background at SES's pace.
  const owner = `${config.outbox.instanceName}-${randomBytes(4).toString('hex')}`
  const { leaseMs } = config.outbox
  const outboxStore = createOutboxStore({ s3: aws.s3, bucket })
  const sendRate = createSendRate({ ses: aws.ses, override: config.aws.ses.maxSendRate, log: app.log })
  const workerLog = app.log.child({ component: 'outbox' })
  const owed = createOwedChecks({ store: subscribers, clock })
  const outbox = createOutboxWorker<StoredRecord>({
    leases: createLeases({ store: outboxStore, owner, leaseMs, clock, log: workerLog }),
    ports: { deliver: delivery.deliver, isOwed: owed.isOwed, recordFailure: owed.recordFailure },
    rate: sendRate.bucket,
    scanIntervalMs: config.outbox.scanIntervalMs,
    maxAttempts: config.outbox.maxAttempts,
    concurrency: config.outbox.concurrency,
    log: workerLog,
    clock
  })
  const writer = createOutboxWriter<StoredRecord>({
    store: outboxStore,
    owner,
    leaseMs,
    onWritten: (batch, etag, known) => outbox.accept(batch, etag, known),
    clock
  })
  const signup = createSignup({
    catalog,
    store: subscribers,
    outbox: writer,
    limits: { cooldownMs: config.signup.cooldownMs, maxEmails: config.signup.maxEmails, windowDays: config.signup.windowDays },
    ...(deps.now ? { now: deps.now } : {})
  })
  const formStamps = createFormStamps({
    secrets: tokenSecrets, redis: app.sharedRedis, log: app.log, ...(deps.now ? { now: () => deps.now!().getTime() } : {})
  })
  const altcha = config.signup.captcha === 'altcha'
    ? (await import('./abuse/altcha.ts')).createAltcha({ secret: tokenSecrets[0] as string, s3: aws.s3, bucket })
    : undefined
  app.decorate('services', { config, aws, catalog, links, subscribers, signup, recipientLinks, delivery, outbox, formStamps, ...(altcha ? { altcha } : {}), site })

  // The sender starts beside the server, not before it: its SES round trips (the stored template,
  // the account's sending rate) must not hold up serving. Signups queue durably meanwhile.
  let senderStarting: Promise<void> | undefined
  if (config.outbox.sender) {
    app.addHook('onReady', async () => {
      senderStarting = (async () => {
        if (config.aws.ses.templates) {
          await messenger.prepareTemplate(email.sesTemplate).catch(err => {
            app.log.warn({ err: { name: (err as Error).name } }, 'SES would not store the email template: sending the whole email each time (allow ses:GetEmailTemplate and ses:CreateEmailTemplate)')
          })
        }
        await sendRate.start()
        outbox.start()
      })().catch(err => {
        // Not expected (each step handles its own failures), but never an unhandled rejection.
        app.log.error({ err }, 'the sender did not start: signups are queued until an instance sends them')
      })
    })
  }
  // In-flight sends finish (within the grace period); the rest stays queued for the next instance.
  app.addHook('preClose', async () => {
    await senderStarting
    sendRate.stop()
    await outbox.stop(config.outbox.shutdownGraceMs)
  })

  // A presigned URL dies with the credentials that signed it: say so at boot when they are temporary.
  // Beside the server as well: resolving them may mean a round trip to a metadata service.
  let expiryChecked: Promise<void> | undefined
  app.addHook('onReady', async () => {
    expiryChecked = credentialsExpiry(aws.s3).then(expiry => {
      if (expiry) {
        app.log.warn({ credentialsExpireAt: expiry.toISOString(), linkTtlSeconds: config.links.ttlSeconds },
          'the AWS credentials are temporary: download links are shortened to end before the credentials that sign them expire, and the emails state that shorter expiry; use long-lived credentials for links that last LINK_TTL_SECONDS')
      }
    }, () => {})
  })
  // Settled before the clients are destroyed (onClose).
  app.addHook('preClose', async () => { await expiryChecked })
}, { name: 'services' })
