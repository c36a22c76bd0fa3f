// POST /webhooks/ses: SES notifications through SNS (bounces and complaints; event publishing's events
// for the funnel). Every message's signature is verified (SignatureVersion 1 and 2, certificate from
// an SNS host, via sns-payload-validator), its topic must be allow-listed, old messages are refused, and a message counts as handled only once
// its effects and then its marker are in S3 (src/webhooks/processed.ts): SNS retries anything else.
// https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
// https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
import SnsPayloadValidator from 'sns-payload-validator'
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { DomainError } from '../../errors.ts'
import { ErrorSchema, replyWithError } from '../errors.ts'
import type { SesMessage } from '../../webhooks/ses-message.ts'
import type { SesEvent } from '../../funnel/ses-steps.ts'
import { createProcessedMessages, isMessageId } from '../../webhooks/processed.ts'

// SNS retries for up to an hour; anything older is a replay.
const MAX_AGE_MS = 60 * 60 * 1000
const SUBSCRIBE_URL = /^https:\/\/sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//

class WebhookError extends DomainError {
  constructor (code: string, message: string) { super(code, message, 400) }
}

export const WebhookResultSchema = Type.Object({
  status: Type.String({ description: 'confirmed, processed or ignored' }),
  suppressed: Type.Optional(Type.Integer({ description: 'addresses suppressed by this message' }))
})

export interface SesWebhookOptions {
  validator?: SnsPayloadValidator
  /** confirms an SNS subscription (GET its SubscribeURL) */
  confirm?: (url: string) => Promise<void>
}

export default async function sesWebhook (app: App, opts: SesWebhookOptions = {}) {
  const { config, aws, sesEvents } = app
  const topics = new Set(config.webhook.snsTopicArns)
  if (topics.size === 0) return
  const validator = opts.validator ?? new SnsPayloadValidator()
  const confirm = opts.confirm ?? (async (url: string) => {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
    if (!res.ok) throw new Error(`SubscribeURL answered ${res.status}`)
  })
  const processed = createProcessedMessages({ s3: aws.s3, bucket: config.aws.s3.bucket })

  // Machines call this route: errors are JSON whatever the request says it accepts.
  app.setErrorHandler((err, request, reply) => replyWithError(err, request, reply, { site: app.site, json: true }))

  // SNS posts JSON with `Content-Type: text/plain`.
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: 262_144 }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(new WebhookError('webhook_malformed', 'The body is not an SNS message.'), undefined)
    }
  })

  app.post('/webhooks/ses', {
    bodyLimit: 262_144,
    schema: {
      description: 'Amazon SNS notifications of SES bounces and complaints, and SES event publishing (signature-verified)',
      body: Type.Object({
        Type: Type.Union([Type.Literal('Notification'), Type.Literal('SubscriptionConfirmation'), Type.Literal('UnsubscribeConfirmation')]),
        MessageId: Type.String({ maxLength: 128 }),
        TopicArn: Type.String({ maxLength: 512 }),
        Message: Type.String({ maxLength: 262_144 }),
        Timestamp: Type.String({ maxLength: 64 }),
        SignatureVersion: Type.String({ maxLength: 4 }),
        Signature: Type.String({ maxLength: 4096 }),
        SigningCertURL: Type.String({ maxLength: 1024 })
      }, { additionalProperties: true }),
      response: { 200: WebhookResultSchema, '4xx': ErrorSchema, '5xx': ErrorSchema }
    }
  }, async (request, reply) => {
    const body = request.body
    const log = request.log.child({ snsMessageId: body.MessageId, topic: body.TopicArn })
    if (!topics.has(body.TopicArn)) {
      log.warn('SNS message from a topic that is not allow-listed')
      throw new WebhookError('webhook_topic', 'This topic is not accepted here.')
    }
    try {
      await validator.validate(body as unknown as SnsPayloadValidator.SnsPayload)
    } catch (err) {
      log.warn({ reason: (err as Error).message }, 'SNS message with a bad signature rejected')
      throw new WebhookError('webhook_signature', 'The message signature is not valid.')
    }
    const sentAt = Date.parse(body.Timestamp)
    if (!Number.isFinite(sentAt) || Math.abs(Date.now() - sentAt) > MAX_AGE_MS) {
      log.warn('SNS message too old (replay?) rejected')
      throw new WebhookError('webhook_stale', 'The message is too old.')
    }
    // It becomes part of an S3 key: only the UUID shape SNS uses gets that far.
    if (!isMessageId(body.MessageId)) throw new WebhookError('webhook_malformed', 'The MessageId is not an SNS message id.')
    // Any S3 error from here on is a 5xx, with nothing marked: SNS retries, and the retry redoes what
    // did not finish (every effect is idempotent).
    if (body.Type !== 'Notification' && await processed.has(body.MessageId)) {
      log.info('SNS message already processed')
      return reply.send({ status: 'ignored' })
    }
    const done = async () => processed.mark(body.MessageId, {
      schemaVersion: 1, type: body.Type, topicArn: body.TopicArn, processedAt: new Date().toISOString()
    })

    if (body.Type === 'SubscriptionConfirmation') {
      const url = String((body as Record<string, unknown>).SubscribeURL ?? '')
      if (!SUBSCRIBE_URL.test(url)) throw new WebhookError('webhook_malformed', 'The SubscribeURL is not an SNS address.')
      await confirm(url)
      await done()
      log.info('SNS subscription confirmed')
      return reply.send({ status: 'confirmed' })
    }
    if (body.Type === 'UnsubscribeConfirmation') {
      await done()
      log.warn('SNS says this endpoint was unsubscribed from the topic')
      return reply.send({ status: 'ignored' })
    }
    let message: SesMessage & SesEvent
    try {
      message = JSON.parse(body.Message) as SesMessage & SesEvent
    } catch {
      throw new WebhookError('webhook_malformed', 'The SES message is not JSON.')
    }
    if (typeof message !== 'object' || message === null) throw new WebhookError('webhook_malformed', 'The SES message is not an object.')
    // Suppression, then the marker, then the funnel's count (src/webhooks/ses-events.ts).
    return reply.send(await sesEvents.handle({ messageId: body.MessageId, topicArn: body.TopicArn, message, sentAt, log }))
  })
}
