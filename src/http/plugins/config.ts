// The validated config and the site's host name (shown in pages and emails), for every plugin and route.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** the public URL's host, the name pages and emails give the site */
    site: string
  }
}

export default fp(async function configPlugin (app: FastifyInstance, opts: { config: Config }) {
  app.decorate('config', opts.config)
  app.decorate('site', new URL(opts.config.http.publicUrl).host)
}, { name: 'config' })
