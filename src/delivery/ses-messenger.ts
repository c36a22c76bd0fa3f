// The SES messenger: sends one email through SES v2 SendEmail, as a stored template when it is in
// place (a kilobyte of data per email), otherwise as simple content (SES builds the MIME message).
import { CreateEmailTemplateCommand, GetEmailTemplateCommand, SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2'
import type { RenderedEmail, SesTemplate } from './confirmation-email.ts'
import { httpStatusOf } from '../aws/errors.ts'

export interface SesMessengerOptions {
  ses: SESv2Client
  from: string
  configurationSet?: string | undefined
}

export interface OutgoingEmail extends RenderedEmail {
  to: string
  headers?: Array<{ name: string, value: string }>
  /**
   * SES message tags: event publishing repeats them in every event of the email (`mail.tags`), which
   * is how the funnel knows the whitepaper version of an open or a click. Names and values: letters,
   * digits, `_` and `-`, at most 256 characters. https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_MessageTag.html
   */
  tags?: Array<{ name: string, value: string }>
}

export type SesMessenger = ReturnType<typeof createSesMessenger>

export function createSesMessenger (options: SesMessengerOptions) {
  const { ses, from, configurationSet } = options
  let storedTemplate: string | undefined
  return {
    /**
     * Makes sure SES holds the template (named by a hash of its content, so a changed email is a
     * new template). Returns false, and emails go as simple content, if SES would not store it.
     */
    async prepareTemplate (template: SesTemplate): Promise<boolean> {
      try {
        await ses.send(new GetEmailTemplateCommand({ TemplateName: template.name }), { abortSignal: AbortSignal.timeout(5000) })
      } catch (err) {
        if ((err as Error).name !== 'NotFoundException' && httpStatusOf(err) !== 404) throw err
        try {
          await ses.send(new CreateEmailTemplateCommand({
            TemplateName: template.name,
            TemplateContent: { Subject: template.subject, Html: template.html, Text: template.text }
          }), { abortSignal: AbortSignal.timeout(5000) })
        } catch (createErr) {
          // Another instance created it first.
          if ((createErr as Error).name !== 'AlreadyExistsException') throw createErr
        }
      }
      storedTemplate = template.name
      return true
    },

    /** Returns the SES message id. Errors are the SDK's, after its own retries. */
    async send (email: OutgoingEmail): Promise<string> {
      const headers = email.headers && email.headers.length > 0 ? { Headers: email.headers.map(h => ({ Name: h.name, Value: h.value })) } : {}
      const useTemplate = email.template !== undefined && email.template.name === storedTemplate
      const res = await ses.send(new SendEmailCommand({
        FromEmailAddress: from,
        Destination: { ToAddresses: [email.to] },
        ...(configurationSet ? { ConfigurationSetName: configurationSet } : {}),
        ...(email.tags && email.tags.length > 0 ? { EmailTags: email.tags.map(t => ({ Name: t.name, Value: t.value })) } : {}),
        Content: useTemplate && email.template
          ? { Template: { TemplateName: email.template.name, TemplateData: email.template.data, ...headers } }
          : {
          Simple: {
            Subject: { Data: email.subject, Charset: 'UTF-8' },
            Body: {
              Html: { Data: email.html, Charset: 'UTF-8' },
              Text: { Data: email.text, Charset: 'UTF-8' }
            },
            ...headers
          }
        }
      }))
      return res.MessageId ?? ''
    }
  }
}
