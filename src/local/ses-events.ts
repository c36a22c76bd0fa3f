// Local mode's event publishing: the SES emulator publishes nothing, so this does what SES does with a
// configuration set. Each SendEmail through the app's SES client gets its links rewritten to a local
// click-tracking redirect (as SES's click tracking rewrites them), and, once the emulator accepted the
// email, a Send and a Delivery event; following a rewritten link makes a Click. The events go to the
// handler the verified webhook uses (src/webhooks/ses-events.ts), so the funnel moves as in production.
// https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html
import { randomBytes, randomUUID } from 'node:crypto'
import type { SESv2Client } from '@aws-sdk/client-sesv2'
import { escapeHtml } from '../html.ts'
import { SLUG_TAG, VERSION_TAG, type SesEvent } from '../funnel/ses-steps.ts'

export const LOCAL_CLICK_PATH = '/local/click'
export const LOCAL_TOPIC = 'arn:aws:sns:local:000000000000:leadlink-local-events'

/** What a rewritten link carries: the email (a local id standing for SES's message id), its tags, the target. */
export interface LocalClick { k: string, s: string, v: string, u: string }

export interface LocalEventsOptions {
  publicUrl: string
  /** origins a click may redirect to: PUBLIC_URL's and the S3 emulator's (never an open redirect) */
  targets: string[]
  emit: (event: SesEvent) => Promise<void>
}

const unescapeHtml = (value: string) => value.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': '\'' })[e] as string)

/** Whether a link may be followed through the local redirect. */
export function isTarget (url: string, targets: string[]): boolean {
  return URL.canParse(url) && /^https?:$/.test(new URL(url).protocol) && targets.includes(new URL(url).origin)
}

export function clickUrl (publicUrl: string, click: LocalClick): string {
  return `${publicUrl}${LOCAL_CLICK_PATH}?${new URLSearchParams({ ...click }).toString()}`
}

/** The HTML with every followable href going through the click redirect (`html` is markup: hrefs are escaped). */
export function rewriteHtml (html: string, wrap: (url: string) => string | undefined): string {
  return html.replace(/href="([^"]*)"/g, (whole, escaped: string) => {
    const wrapped = wrap(unescapeHtml(escaped))
    return wrapped === undefined ? whole : `href="${escapeHtml(wrapped)}"`
  })
}

/** A stored template's data: its HTML-escaped values (`h`) that are followable links go through the redirect. */
export function rewriteTemplateData (data: string, wrap: (url: string) => string | undefined): string {
  let parsed: { h?: Record<string, unknown> }
  try {
    parsed = JSON.parse(data) as { h?: Record<string, unknown> }
  } catch {
    return data
  }
  if (!parsed.h || typeof parsed.h !== 'object') return data
  for (const [name, value] of Object.entries(parsed.h)) {
    if (typeof value !== 'string') continue
    const wrapped = wrap(unescapeHtml(value))
    if (wrapped !== undefined) parsed.h[name] = escapeHtml(wrapped)
  }
  return JSON.stringify(parsed)
}

interface SendInput {
  EmailTags?: Array<{ Name?: string, Value?: string }>
  Content?: { Simple?: { Body?: { Html?: { Data?: string } } }, Template?: { TemplateData?: string } }
}

const tagsOf = (input: SendInput): Record<string, string[]> =>
  Object.fromEntries((input.EmailTags ?? []).filter(t => t.Name && t.Value).map(t => [t.Name as string, [t.Value as string]]))

/** The event SES would publish for an email (`mail`), of a type, with its detail object. */
export function localEvent (eventType: string, mail: { messageId: string, timestamp: string, tags: Record<string, string[]> }, detail: Record<string, unknown> = {}): SesEvent {
  const key = { Send: 'send', Delivery: 'delivery', Click: 'click' }[eventType] ?? eventType.toLowerCase()
  return { eventType, mail, [key]: detail }
}

/**
 * Installs the emulated event publishing on the SES client: links rewritten before the send, Send and
 * Delivery after it. An event that cannot be handled is logged by `emit`'s caller, never fails the send.
 */
export function publishLocalEvents (ses: SESv2Client, options: LocalEventsOptions): void {
  ses.middlewareStack.add((next, context) => async args => {
    if (context.commandName !== 'SendEmailCommand') return next(args)
    const input = args.input as SendInput
    const tags = tagsOf(input)
    // SES names each email by the message id it answers; the links need a name before the send.
    const k = randomBytes(12).toString('hex')
    const wrap = (url: string) => isTarget(url, options.targets)
      ? clickUrl(options.publicUrl, { k, s: tags[SLUG_TAG]?.[0] ?? '', v: tags[VERSION_TAG]?.[0] ?? '', u: url })
      : undefined
    const content = structuredClone(input.Content)
    if (content?.Simple?.Body?.Html?.Data) content.Simple.Body.Html.Data = rewriteHtml(content.Simple.Body.Html.Data, wrap)
    if (content?.Template?.TemplateData) content.Template.TemplateData = rewriteTemplateData(content.Template.TemplateData, wrap)
    const result = await next({ ...args, input: { ...input, Content: content } })
    const mail = { messageId: k, timestamp: new Date().toISOString(), tags }
    await options.emit(localEvent('Send', mail))
    await options.emit(localEvent('Delivery', mail, { timestamp: new Date().toISOString(), recipients: [] }))
    return result
  }, { step: 'initialize', name: 'leadlinkLocalEventPublishing' })
}

/** The Click SES would publish when the recipient follows a rewritten link. */
export function clickEvent (click: LocalClick, at: Date): SesEvent {
  return localEvent('Click', { messageId: click.k, timestamp: at.toISOString(), tags: { [SLUG_TAG]: [click.s], [VERSION_TAG]: [click.v] } }, { timestamp: at.toISOString(), link: click.u, linkTags: {} })
}

/** An SNS MessageId for an emulated event: each event is a message of its own, as SNS makes it. */
export const localMessageId = () => randomUUID()
