// OpenAPI 3 document generated from the route schemas (@fastify/swagger), served at /docs/json.
import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'

/** Register before the routes: @fastify/swagger collects them as they are added. */
export default fp(async function openapi (app: FastifyInstance, opts: { publicUrl: string }) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'leadlink',
        version: '1',
        description: 'Landing-page signups that email an expiring S3 presigned link to a whitepaper. ' +
          'The JSON endpoints are documented here; pages (tag "pages") answer text/html and work without JavaScript. ' +
          'Every error carries a stable `code`.'
      },
      servers: [{ url: opts.publicUrl }],
      tags: [
        { name: 'signup', description: 'the landing-page form and its JSON twin' },
        { name: 'recipient links', description: 'links in the email: confirm, unsubscribe, fresh download link' },
        { name: 'pages', description: 'HTML pages for visitors (text/html)' },
        { name: 'operations', description: 'health and readiness' }
      ]
    }
  })

  app.get('/docs/json', {
    schema: {
      hide: true,
      summary: 'This OpenAPI document',
      response: { 200: Type.Object({}, { additionalProperties: true, description: 'OpenAPI 3.0 document' }) }
    },
    logLevel: 'warn'
  }, async () => app.swagger())
}, { name: 'openapi' })
