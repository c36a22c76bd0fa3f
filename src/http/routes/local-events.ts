// Local mode only (src/serve.ts registers it): emulated SES event publishing on the app's SES client,
// and GET /local/click, the click-tracking redirect that the emulated emails' links go through.
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { AS_IS } from '../as-is.ts'
import { ErrorSchema } from '../errors.ts'
import { DomainError } from '../../errors.ts'
import { SLUG_PATTERN } from '../../whitepapers/keys.ts'
import { clickEvent, isTarget, LOCAL_CLICK_PATH, LOCAL_TOPIC, localMessageId, publishLocalEvents } from '../../local/ses-events.ts'
import type { SesEvent } from '../../funnel/ses-steps.ts'

export const LocalClickQuerySchema = Type.Object({
  k: Type.String({ pattern: '^[0-9a-f]{24}$', description: 'the email (a local stand-in for its SES message id)' }),
  s: Type.Union([Type.Literal(''), Type.String({ pattern: SLUG_PATTERN })], { description: 'the email\'s whitepaper' }),
  v: Type.String({ pattern: '^[A-Za-z0-9-]{0,64}$', description: 'the email\'s whitepaper version' }),
  u: Type.String({ maxLength: 4096, description: 'the link in the email' })
})

export default async function localEvents (app: App) {
  const { config, sesEvents, aws } = app
  const targets = [new URL(config.http.publicUrl).origin, ...(config.aws.s3.endpoint ? [new URL(config.aws.s3.endpoint).origin] : [])]
  const log = app.log.child({ component: 'local-events' })
  // The same entry as a verified SNS message: a fresh MessageId per event, as SNS gives each.
  const emit = async (message: SesEvent) => {
    await sesEvents.handle({ messageId: localMessageId(), topicArn: LOCAL_TOPIC, message, sentAt: Date.now(), log })
      .catch(err => log.warn({ err: { name: (err as Error).name, message: (err as Error).message }, eventType: message.eventType }, 'local SES event not handled'))
  }
  publishLocalEvents(aws.ses, { publicUrl: config.http.publicUrl, targets, emit })

  app.get(LOCAL_CLICK_PATH, {
    ...AS_IS,
    schema: {
      hide: true,
      querystring: LocalClickQuerySchema,
      response: { 302: Type.Null({ description: 'Location is the link from the email' }), '4xx': ErrorSchema }
    }
  }, async (request, reply) => {
    const click = request.query
    if (!isTarget(click.u, targets)) throw new DomainError('invalid_request', 'This link does not lead to this service or its bucket.', 400)
    // Like SES's own redirect: a HEAD or a prefetch is not a click.
    if (request.method === 'GET') await emit(clickEvent(click, new Date()))
    return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(click.u, 302)
  })
}
