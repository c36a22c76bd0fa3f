// What an SES notification does once its SNS envelope is verified (POST /webhooks/ses) or, in local
// mode, once the emulated SES emits it: suppress bounced and complaining addresses, mark the SNS
// message handled, and count the event in the funnel only when this call was the one that marked it,
// so that SNS delivering a message twice (or to two instances) counts it once.
// https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
import type { SuppressionEvent } from '../subscribers/suppression.ts'
import { stepOf, subjectOf, timeOf, type SesEvent } from '../funnel/ses-steps.ts'
import type { FunnelStep, FunnelSubject } from '../funnel/model.ts'
import { suppressionsOf, type SesMessage } from './ses-message.ts'
import type { ProcessedMessages } from './processed.ts'

export interface SesEventPorts {
  processed: Pick<ProcessedMessages, 'has' | 'mark'>
  /** suppresses one address; answers a short, loggable id of the record when it was newly suppressed */
  suppress: (event: SuppressionEvent) => Promise<string | null | undefined>
  funnel: { record: (step: FunnelStep, subject: FunnelSubject, n?: number, at?: number) => void }
  /** true the first time a step is seen for an email (the steps counted once per email) */
  firstFor: (step: FunnelStep, sesMessageId: string | undefined) => Promise<boolean>
  /** PUBLIC_URL: tells the email's own links apart in a Click */
  publicUrl: string
}

export interface SesNotification {
  /** the SNS MessageId (a UUID): the unit of deduplication */
  messageId: string
  topicArn: string
  message: SesMessage & SesEvent
  /** when SNS sent it (ms) */
  sentAt: number
  log: { info: (obj: object, msg: string) => void, warn: (obj: object, msg: string) => void }
}

export type SesNotificationResult = { status: 'ignored' } | { status: 'processed', suppressed: number }

export function createSesEventHandler (ports: SesEventPorts) {
  /** Counts the event; a failure only loses this count (the message's compliance effects are stored). */
  async function count (message: SesEvent, sentAt: number, log: SesNotification['log']): Promise<void> {
    const step = stepOf(message, ports.publicUrl)
    if (!step) return
    try {
      if (step.unique && !await ports.firstFor(step.step, message.mail?.messageId)) return
      ports.funnel.record(step.step, subjectOf(message), 1, timeOf(message, sentAt))
    } catch (err) {
      log.warn({ err: { name: (err as Error).name, message: (err as Error).message }, step: step.step }, 'SES event not counted in the funnel')
    }
  }

  return {
    /** S3 errors propagate before the message is marked: the caller answers 5xx and SNS retries. */
    async handle (n: SesNotification): Promise<SesNotificationResult> {
      if (await ports.processed.has(n.messageId)) {
        n.log.info({}, 'SNS message already processed')
        return { status: 'ignored' }
      }
      let suppressed = 0
      for (const event of suppressionsOf(n.message, new Date(n.sentAt).toISOString())) {
        const id = await ports.suppress(event)
        if (id) {
          suppressed++
          n.log.info({ addressHash: id.slice(0, 12), reason: event.reason, detail: event.detail }, 'address suppressed')
        }
      }
      // Only now, with every suppression stored, does the message count as handled.
      const eventType = n.message.eventType
      const first = await ports.processed.mark(n.messageId, {
        schemaVersion: 1,
        type: 'Notification',
        topicArn: n.topicArn,
        processedAt: new Date().toISOString(),
        suppressed,
        ...(typeof eventType === 'string' ? { eventType: eventType.slice(0, 32) } : {})
      })
      if (first && typeof eventType === 'string') await count(n.message, n.sentAt, n.log)
      return { status: 'processed', suppressed }
    }
  }
}

export type SesEventHandler = ReturnType<typeof createSesEventHandler>
