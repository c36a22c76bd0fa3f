// The AWS clients, created once from config (or handed in) and destroyed on close; warns at boot when
// the credentials are temporary (credentialsWarning), since a presigned URL dies with the credentials that signed it.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createAwsClients, type AwsClients } from '../../aws/clients.ts'
import { credentialsExpiry } from '../../whitepapers/download-links.ts'
import type { ServiceDeps } from './deps.ts'

declare module 'fastify' {
  interface FastifyInstance {
    aws: AwsClients
  }
}

export default fp(async function awsPlugin (app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { config } = app
  const aws = opts.deps.aws ?? createAwsClients(config, opts.deps.clientOptions)
  if (!opts.deps.aws) app.addHook('onClose', async () => aws.destroy())
  app.decorate('aws', aws)
}, { name: 'aws', dependencies: ['config'] })

/** The warning alone, registered after the outbox: its onReady hook runs after the sender's has started. */
export const credentialsWarning = fp(async function credentialsWarning (app: FastifyInstance) {
  const { config, aws } = app
  // Beside the server, not before it: resolving the credentials may mean a round trip to a metadata service.
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
}, { name: 'credentials-warning', dependencies: ['config', 'aws'] })
