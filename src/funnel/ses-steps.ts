// Which funnel step an SES event-publishing event is, for which whitepaper version, on which day, and
// which link a Click followed. Event publishing names the type `eventType` (feedback notifications
// use `notificationType` and are not counted: they would count bounces twice where both are set up).
// https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html
import type { FunnelStep, FunnelSubject } from './model.ts'

/** The message tags every email carries (src/delivery/compose.ts), so that its events map to a version. */
export const SLUG_TAG = 'slug'
export const VERSION_TAG = 'version'

/** The parts of an event-publishing record the funnel reads (never an address). */
export interface SesEvent {
  eventType?: string
  mail?: { messageId?: string, timestamp?: string, tags?: Record<string, string[] | undefined> }
  click?: { timestamp?: string, link?: string, linkTags?: Record<string, string[] | undefined> }
  [detail: string]: unknown
}

export type LinkKind = 'download' | 'confirm' | 'fresh' | 'unsubscribe' | 'other'
const LINK_KINDS = new Set<string>(['download', 'confirm', 'fresh', 'unsubscribe'])

/**
 * Which of the email's links was clicked: a `linkName` link tag when the template sets one
 * (`ses:tags="linkName:download"`), else the URL: a SigV4-presigned URL is the download, /c/, /d/ and
 * /u/ on PUBLIC_URL are the confirm, fresh-link and unsubscribe links.
 * https://docs.aws.amazon.com/ses/latest/dg/faqs-metrics.html (link tags)
 */
export function classifyLink (link: string | undefined, linkTags: Record<string, string[] | undefined> | undefined, publicUrl: string): LinkKind {
  const named = linkTags?.linkName?.[0]
  if (named && LINK_KINDS.has(named)) return named as LinkKind
  if (!link || !URL.canParse(link)) return 'other'
  const url = new URL(link)
  if (url.searchParams.has('X-Amz-Signature') && url.searchParams.has('X-Amz-Credential')) return 'download'
  const base = new URL(publicUrl)
  if (url.origin !== base.origin) return 'other'
  const path = url.pathname.slice(base.pathname.replace(/\/$/, '').length)
  if (path.startsWith('/c/')) return 'confirm'
  if (path.startsWith('/d/')) return 'fresh'
  if (path.startsWith('/u/')) return 'unsubscribe'
  return 'other'
}

export interface StepOfEvent {
  step: FunnelStep
  /**
   * Counted once per email however many events say it (opens, download clicks, delays): the caller
   * keeps a marker per email and step. The other steps happen once per email by nature.
   */
  unique: boolean
}

/**
 * The step an event counts in, or null (Subscription events; clicks on the confirm, fresh and
 * unsubscribe links, which the service counts itself when they are used: confirmations, freshLinks,
 * unsubscribes).
 */
export function stepOf (event: SesEvent, publicUrl: string): StepOfEvent | null {
  switch (event.eventType) {
    case 'Send': return { step: 'sent', unique: false }
    case 'Delivery': return { step: 'delivered', unique: false }
    case 'Bounce': return { step: 'bounced', unique: false }
    case 'Complaint': return { step: 'complained', unique: false }
    case 'Reject': return { step: 'rejected', unique: false }
    // The JSON says "Rendering Failure"; the configuration set's event type is RENDERING_FAILURE.
    case 'Rendering Failure':
    case 'RenderingFailure': return { step: 'renderingFailures', unique: false }
    case 'DeliveryDelay': return { step: 'delayed', unique: true }
    case 'Open': return { step: 'opened', unique: true }
    case 'Click': return classifyLink(event.click?.link, event.click?.linkTags, publicUrl) === 'download' ? { step: 'downloads', unique: true } : null
    default: return null
  }
}

const tag = (event: SesEvent, name: string): string => event.mail?.tags?.[name]?.[0] ?? ''

/** The whitepaper and version from the email's tags ('' when the email had none, e.g. sent before tagging). */
export function subjectOf (event: SesEvent): FunnelSubject {
  return { slug: tag(event, SLUG_TAG), version: tag(event, VERSION_TAG) }
}

/** The detail object of each event type, whose `timestamp` says when it happened. */
const DETAIL: Record<string, string> = {
  Delivery: 'delivery', Bounce: 'bounce', Complaint: 'complaint', Open: 'open', Click: 'click', DeliveryDelay: 'deliveryDelay'
}

/** When the event happened (ms): its own timestamp, else the email's, else when SNS sent it. */
export function timeOf (event: SesEvent, fallback: number): number {
  const detail = event[DETAIL[event.eventType ?? ''] ?? ''] as { timestamp?: unknown } | undefined
  for (const candidate of [detail?.timestamp, event.mail?.timestamp]) {
    const ms = typeof candidate === 'string' ? Date.parse(candidate) : Number.NaN
    if (Number.isFinite(ms)) return ms
  }
  return fallback
}

/** The tags an email carries: its whitepaper and version (both are letters, digits and dashes already). */
export function funnelTags (pointer: FunnelSubject): Array<{ name: string, value: string }> {
  return [{ name: SLUG_TAG, value: pointer.slug }, { name: VERSION_TAG, value: pointer.version }]
}
