// Subscribers: the record store and the recipient's signed links (confirm, unsubscribe, fresh download).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { systemClock } from '../../clock.ts'
import { createRecipientLinks, type RecipientLinks } from '../../recipient-links/recipient-links.ts'
import { createTokenSigner } from '../../recipient-links/tokens.ts'
import { createSubscriberStore, type SubscriberStore } from '../../subscribers/store.ts'
import type { ServiceDeps } from './deps.ts'

declare module 'fastify' {
  interface FastifyInstance {
    subscribers: SubscriberStore
    recipientLinks: RecipientLinks
  }
}

export default fp(async function subscribers (app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { config, aws } = app
  const clock = opts.deps.now ?? systemClock
  const store = createSubscriberStore({ s3: aws.s3, bucket: config.aws.s3.bucket })
  const { tokenSecrets } = config.links
  if (tokenSecrets.length === 0) throw new Error('TOKEN_SECRET is required to sign recipient links')
  app.decorate('subscribers', store)
  app.decorate('recipientLinks', createRecipientLinks({
    tokens: createTokenSigner(tokenSecrets, clock),
    store,
    catalog: app.catalog,
    links: app.downloadLinks,
    publicUrl: config.http.publicUrl,
    confirmTtlSeconds: config.links.confirmTtlSeconds,
    renewTtlSeconds: config.links.renewTtlSeconds,
    freshLinkTtlSeconds: config.links.freshTtlSeconds,
    now: clock
  }))
}, { name: 'subscribers', dependencies: ['config', 'aws', 'whitepapers'] })
