// Subscribers: the record store (keys under ADDRESS_KEY) and the recipient's signed links (confirm,
// unsubscribe, fresh download).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { systemClock } from '../../clock.ts'
import { createRecipientLinks, type RecipientLinks } from '../../recipient-links/recipient-links.ts'
import { createTokenSigner } from '../../recipient-links/tokens.ts'
import { createJsonStore } from '../../storage/json-store.ts'
import { createAddressKeys } from '../../subscribers/address.ts'
import { createKeyMigrationState, type KeyMigrationState, RECHECK_MS } from '../../subscribers/legacy-keys.ts'
import { createSubscriberStore, type SubscriberStore } from '../../subscribers/store.ts'
import type { ServiceDeps } from './deps.ts'

declare module 'fastify' {
  interface FastifyInstance {
    subscribers: SubscriberStore
    recipientLinks: RecipientLinks
    /** whether records of before ADDRESS_KEY may remain (reads then also look under their old keys) */
    keyMigration: KeyMigrationState
  }
}

export default fp(async function subscribers (app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { config, aws } = app
  const clock = opts.deps.now ?? systemClock
  const { tokenSecrets } = config.links
  if (tokenSecrets.length === 0) throw new Error('TOKEN_SECRET is required to sign recipient links')
  const { addressKey } = config.privacy
  if (addressKey === undefined) throw new Error('ADDRESS_KEY is required to key subscriber records')
  const s3 = { s3: aws.s3, bucket: config.aws.s3.bucket }
  const migration = createKeyMigrationState({ json: createJsonStore(s3), log: app.log.child({ component: 'address-keys' }), now: clock })
  const store = createSubscriberStore({ ...s3, keys: createAddressKeys(addressKey), migration })
  app.decorate('subscribers', store)
  app.decorate('keyMigration', migration)
  app.decorate('recipientLinks', createRecipientLinks({
    tokens: createTokenSigner(tokenSecrets, clock),
    store,
    catalog: app.catalog,
    links: app.downloadLinks,
    publicUrl: config.http.publicUrl,
    confirmTtlSeconds: config.links.confirmTtlSeconds,
    renewTtlSeconds: config.links.renewTtlSeconds,
    freshLinkTtlSeconds: config.links.freshTtlSeconds,
    recordRequester: config.privacy.recordSignupIp,
    now: clock
  }))

  // Read beside the server, not before it (start-up never waits on S3; the first read by address waits
  // for it); while records of before may remain, again every minute until the migration's marker is there.
  let timer: NodeJS.Timeout | undefined
  let first: Promise<void> | undefined
  app.addHook('onReady', async () => {
    first = migration.ready().then(() => {
      if (!migration.pending()) return
      timer = setInterval(() => {
        migration.check().then(() => { if (!migration.pending()) clearInterval(timer) }, () => {})
      }, RECHECK_MS)
      timer.unref()
    })
  })
  // Settled before the clients are destroyed (onClose).
  app.addHook('preClose', async () => { await first })
  app.addHook('onClose', async () => clearInterval(timer))
}, { name: 'subscribers', dependencies: ['config', 'aws', 'whitepapers'] })
