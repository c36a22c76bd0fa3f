// Whitepapers: the catalog (versions and current pointers in S3) and the presigned download links.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { systemClock } from '../../clock.ts'
import { createCatalog, type Catalog } from '../../whitepapers/catalog.ts'
import { createDownloadLinks, type DownloadLinks } from '../../whitepapers/download-links.ts'
import type { ServiceDeps } from './deps.ts'

declare module 'fastify' {
  interface FastifyInstance {
    catalog: Catalog
    downloadLinks: DownloadLinks
  }
}

export default fp(async function whitepapers (app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { config, aws } = app
  const { bucket } = config.aws.s3
  const clock = opts.deps.now ?? systemClock
  app.decorate('catalog', createCatalog({ s3: aws.s3, bucket, refreshMs: config.catalog.refreshMs, log: app.log, now: clock }))
  app.decorate('downloadLinks', createDownloadLinks({ s3: aws.s3, bucket, now: clock }))
}, { name: 'whitepapers', dependencies: ['config', 'aws'] })
