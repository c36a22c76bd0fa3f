// `app.sesEvents`: what an SES notification does after its SNS envelope is verified (suppression,
// the handled-message marker, the funnel's count). The webhook route and local mode's emulated event
// publishing both hand their events to it, so local mode exercises the very code production runs.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createJsonStore } from '../../storage/json-store.ts'
import { createOnceMarkers } from '../../funnel/once.ts'
import { suppressAddress } from '../../subscribers/suppression.ts'
import { createProcessedMessages } from '../../webhooks/processed.ts'
import { createSesEventHandler, type SesEventHandler } from '../../webhooks/ses-events.ts'

declare module 'fastify' {
  interface FastifyInstance {
    sesEvents: SesEventHandler
  }
}

export default fp(async function sesEvents (app: FastifyInstance) {
  const { config, aws, subscribers, outbox, funnel } = app
  const bucket = config.aws.s3.bucket
  const once = createOnceMarkers({ json: createJsonStore({ s3: aws.s3, bucket }) })
  app.decorate('sesEvents', createSesEventHandler({
    processed: createProcessedMessages({ s3: aws.s3, bucket }),
    suppress: event => suppressAddress({ store: subscribers, onSuppressed: h => outbox.suppress(h) }, event),
    funnel,
    firstFor: once.first,
    publicUrl: config.http.publicUrl
  }))
}, { name: 'ses-events', dependencies: ['config', 'aws', 'subscribers', 'outbox', 'funnel'] })
