// Brand: the site name, logo and accent (site-wide) and each whitepaper's cover, learn-list and thank-you
// text, stored in S3 and set in /admin; pages and emails read them through here (src/brand/).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { systemClock } from '../../clock.ts'
import { createBrandStore, type BrandStore } from '../../brand/store.ts'
import type { ServiceDeps } from './deps.ts'
import { emailBrand, type EmailBrand, type PageBrand, pageBrand, type PageExtras, pageExtras } from '../../brand/view.ts'

declare module 'fastify' {
  interface FastifyInstance {
    brand: BrandStore & {
      /** what a visitor page shows of the site-wide brand */
      forPage: () => Promise<PageBrand>
      /** a whitepaper's cover, learn-list and thank-you text */
      extras: (slug: string) => Promise<PageExtras>
      /** what the confirmation email shows (absolute image URLs) */
      forEmail: () => Promise<EmailBrand>
    }
  }
}

export default fp(async function brand (app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { config, aws, site } = app
  const store = createBrandStore({ s3: aws.s3, bucket: config.aws.s3.bucket, refreshMs: config.catalog.refreshMs, log: app.log, now: opts.deps.now ?? systemClock })
  app.decorate('brand', {
    ...store,
    forPage: async () => pageBrand(await store.settings(), site),
    extras: async (slug: string) => pageExtras(await store.page(slug)),
    forEmail: async () => emailBrand(await store.settings(), site, config.http.publicUrl)
  })
}, { name: 'brand', dependencies: ['config', 'aws'] })
