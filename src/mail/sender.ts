// Sends one email through SES v2 SendEmail (simple content: SES builds the MIME message).
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2'
import type { RenderedEmail } from './confirmation-email.ts'

export interface SenderOptions {
  ses: SESv2Client
  from: string
  configurationSet?: string | undefined
}

export interface OutgoingEmail extends RenderedEmail {
  to: string
  headers?: Array<{ name: string, value: string }>
}

export type Sender = ReturnType<typeof createSender>

export function createSender (options: SenderOptions) {
  const { ses, from, configurationSet } = options
  return {
    /** Returns the SES message id. Errors are the SDK's, after its own retries. */
    async send (email: OutgoingEmail): Promise<string> {
      const res = await ses.send(new SendEmailCommand({
        FromEmailAddress: from,
        Destination: { ToAddresses: [email.to] },
        ...(configurationSet ? { ConfigurationSetName: configurationSet } : {}),
        Content: {
          Simple: {
            Subject: { Data: email.subject, Charset: 'UTF-8' },
            Body: {
              Html: { Data: email.html, Charset: 'UTF-8' },
              Text: { Data: email.text, Charset: 'UTF-8' }
            },
            ...(email.headers && email.headers.length > 0 ? { Headers: email.headers.map(h => ({ Name: h.name, Value: h.value })) } : {})
          }
        }
      }))
      return res.MessageId ?? ''
    }
  }
}
