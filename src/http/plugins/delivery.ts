// Delivery: an outbox item becomes an email (link, templates, headers) sent by the SES messenger.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { systemClock } from '../../clock.ts'
import { createConfirmationEmail } from '../../delivery/confirmation-email.ts'
import { createDelivery, type EmailDelivery } from '../../delivery/compose.ts'
import { createSesMessenger } from '../../delivery/ses-messenger.ts'
import type { ServiceDeps } from './deps.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** composes an outbox item's email (the admin preview shows the same) and delivers it */
    delivery: EmailDelivery & {
      /** stores the email template in SES (SES_TEMPLATES), so that each send carries only its data */
      prepareTemplate: () => Promise<boolean>
    }
  }
}

export default fp(async function delivery (app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { config, aws, site } = app
  const email = createConfirmationEmail({
    subject: config.email.subject,
    site,
    windowDays: config.signup.windowDays,
    maxEmails: config.signup.maxEmails,
    ...(opts.deps.templatesDir ? { templatesDir: opts.deps.templatesDir } : {})
  })
  const messenger = createSesMessenger({ ses: aws.ses, from: config.aws.ses.from, configurationSet: config.aws.ses.configurationSet })
  const composed = createDelivery({
    catalog: app.catalog,
    links: app.downloadLinks,
    recipientLinks: app.recipientLinks,
    email,
    brand: app.brand,
    messenger,
    linkTtlSeconds: config.links.ttlSeconds,
    clock: opts.deps.now ?? systemClock
  })
  app.decorate('delivery', { ...composed, prepareTemplate: () => messenger.prepareTemplate(email.sesTemplate) })
}, { name: 'delivery', dependencies: ['config', 'aws', 'whitepapers', 'brand', 'subscribers'] })
