// One outbox item becomes one email: a download link minted for the current version, the
// recipient's own links, the confirmation templates, RFC 8058 headers; `deliver` also sends it.
import { dateOf, type Clock } from '../clock.ts'
import type { RecipientLinks } from '../recipient-links/recipient-links.ts'
import { classifySendError, DeliveryFailure } from '../outbox/ses-errors.ts'
import type { OutboxItem, SendResult } from '../outbox/store.ts'
import type { Catalog, WhitepaperPointer } from '../whitepapers/catalog.ts'
import type { DownloadLinks } from '../whitepapers/download-links.ts'
import type { ConfirmationEmail } from './confirmation-email.ts'
import type { EmailBrand } from '../brand/view.ts'
import type { OutgoingEmail, SesMessenger } from './ses-messenger.ts'
import { funnelTags } from '../funnel/ses-steps.ts'

export interface DeliveryOptions {
  catalog: Pick<Catalog, 'current'>
  links: Pick<DownloadLinks, 'mint'>
  recipientLinks: Pick<RecipientLinks, 'forEmail'>
  email: Pick<ConfirmationEmail, 'render'>
  /** the marketer's name, logo and accent (src/brand/), read per email: a change reaches the next one */
  brand?: { forEmail: () => Promise<EmailBrand> }
  messenger: Pick<SesMessenger, 'send'>
  linkTtlSeconds: number
  clock: Clock
}

export interface ComposedEmail {
  email: OutgoingEmail
  /** the whitepaper version the link points at, and when the link expires (for the delivery log) */
  pointer: WhitepaperPointer
  linkExpiresAt: Date
}

export type EmailDelivery = ReturnType<typeof createDelivery>

export function createDelivery (options: DeliveryOptions) {
  /** The email owed for an item, or null when its whitepaper has no current version any more. */
  async function compose (item: OutboxItem): Promise<ComposedEmail | null> {
    const pointer = await options.catalog.current(item.slug)
    if (!pointer) return null
    const link = await options.links.mint(pointer, options.linkTtlSeconds)
    const links = options.recipientLinks.forEmail(item.addressHash, pointer.slug)
    // A brand that cannot be read leaves the email in the defaults: the whitepaper still goes out.
    const brand = await options.brand?.forEmail().catch(() => undefined)
    const rendered = options.email.render({ pointer, link, links, returning: item.kind === 'returning', brand })
    return {
      email: {
        to: item.address,
        ...rendered,
        // RFC 8058 one-click unsubscribe, which Gmail and Yahoo require of subscription mail.
        headers: [
          { name: 'List-Unsubscribe', value: `<${links.unsubscribeUrl}>` },
          { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' }
        ],
        // So that the funnel counts this email's SES events (opens, clicks…) for its whitepaper version.
        tags: funnelTags(pointer)
      },
      pointer,
      linkExpiresAt: link.expiresAt
    }
  }

  return {
    /** Also what the admin preview shows: the very email a signup gets (nothing is sent). */
    compose,

    /**
     * Composes and sends; returns what the delivery log keeps. Throws a DeliveryFailure when the
     * reason is known (SES's answer, a whitepaper gone); S3 or catalog trouble is thrown as it came.
     */
    async deliver (item: OutboxItem): Promise<SendResult> {
      const composed = await compose(item)
      if (!composed) throw new DeliveryFailure({ kind: 'permanent', reason: 'whitepaper_gone' }, false)
      let messageId: string
      try {
        messageId = await options.messenger.send(composed.email)
      } catch (err) {
        throw new DeliveryFailure(classifySendError(err), true, { cause: err })
      }
      return { messageId, version: composed.pointer.version, linkExpiresAt: composed.linkExpiresAt.toISOString(), sentAt: dateOf(options.clock).toISOString() }
    }
  }
}
