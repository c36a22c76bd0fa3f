// Recipient links: confirm (double opt-in), unsubscribe (RFC 8058 one-click), and a fresh download
// link after the presigned one expired. Each is a signed token; the use cases below are the rules.
import { systemClock, type Clock } from '../clock.ts'
import { UnavailableError } from '../errors.ts'
import { type SubscriberRecord, updateSubscriber, type SubscriberStore } from '../subscribers/store.ts'
import type { Catalog, WhitepaperPointer } from '../whitepapers/catalog.ts'
import type { DownloadLinks, MintedLink } from '../whitepapers/download-links.ts'
import type { TokenClaims, TokenSigner } from './tokens.ts'

export interface RecipientLinkOptions {
  tokens: TokenSigner
  store: SubscriberStore
  catalog: Catalog
  links: DownloadLinks
  publicUrl: string
  confirmTtlSeconds: number
  renewTtlSeconds: number
  freshLinkTtlSeconds: number
  /** RECORD_SIGNUP_IP: keep who confirmed or unsubscribed (IP, user agent) in the record (default true) */
  recordRequester?: boolean
  now?: Clock
}

export interface EmailLinks {
  confirmUrl: string
  unsubscribeUrl: string
  renewUrl: string
  /** the person's own data: download it as JSON or erase it (/p/), valid as long as the fresh-link one */
  privacyUrl: string
}

export interface Requester {
  ip: string
  userAgent: string
}

export type ConfirmOutcome = 'confirmed' | 'already-confirmed' | 'unsubscribed-since' | 'not-deliverable' | 'gone'
export type UnsubscribeOutcome = 'unsubscribed' | 'already-unsubscribed' | 'gone'

export type RecipientLinks = ReturnType<typeof createRecipientLinks>

export function createRecipientLinks (options: RecipientLinkOptions) {
  const { tokens, store, catalog, links, publicUrl } = options
  const clock = options.now ?? systemClock
  const now = () => new Date(clock())
  const seconds = () => Math.floor(clock() / 1000)
  const from = (by: Requester) => options.recordRequester === false ? {} : { ip: by.ip, userAgent: by.userAgent }

  async function guarded<T> (work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw new UnavailableError('We could not update your subscription just now. Please try again in a minute.', { cause: err })
    }
  }

  /**
   * Changes the record a token is about. A token of before ADDRESS_KEY finds it through the key
   * migration's mapping; so does one signed for an email queued before the upgrade (its outbox item
   * carried the old key), when nothing is under the key it names.
   */
  function updateFor (claims: TokenClaims, change: (record: SubscriberRecord) => SubscriberRecord | null): Promise<void> {
    return guarded(async () => {
      if (!claims.legacyKey && await updateSubscriber(store, claims.addressHash, change)) return
      const ref = await store.resolveLegacy(claims.addressHash)
      if (ref) await updateSubscriber(store, ref.key, change, 5, ref.address)
    })
  }

  return {
    /** The links of one email, for one address record and one whitepaper. */
    forEmail (addressHash: string, slug: string): EmailLinks {
      const issuedAt = seconds()
      const token = (purpose: 'confirm' | 'unsubscribe' | 'renew' | 'privacy', ttl: number) =>
        tokens.sign({ purpose, addressHash, slug, issuedAt, expiresAt: ttl === 0 ? 0 : issuedAt + ttl })
      return {
        confirmUrl: `${publicUrl}/c/${token('confirm', options.confirmTtlSeconds)}`,
        // Unsubscribe links never expire: an old email must always let people leave.
        unsubscribeUrl: `${publicUrl}/u/${token('unsubscribe', 0)}`,
        renewUrl: `${publicUrl}/d/${token('renew', options.renewTtlSeconds)}`,
        privacyUrl: `${publicUrl}/p/${token('privacy', options.renewTtlSeconds)}`
      }
    },

    /** The record key a privacy-page token is for (GDPR access and erasure: src/http/routes/privacy.ts). */
    checkPrivacy: (token: string) => tokens.verify(token, 'privacy'),

    /** Checks a confirm token without changing anything (the GET page). */
    checkConfirm: (token: string) => tokens.verify(token, 'confirm'),
    checkUnsubscribe: (token: string) => tokens.verify(token, 'unsubscribe'),

    async confirm (token: string, by: Requester): Promise<ConfirmOutcome> {
      const claims = tokens.verify(token, 'confirm')
      let outcome: ConfirmOutcome = 'gone'
      await updateFor(claims, record => {
        if (record.status === 'suppressed') { outcome = 'not-deliverable'; return null }
        if (record.status === 'confirmed') { outcome = 'already-confirmed'; return null }
        // An unsubscribe after this email was sent outranks its old confirm button, whatever happened
        // since (a new form submission keeps the address unsubscribed: only a newer email's button counts).
        const unsubscribedAt = record.unsubscription ? Date.parse(record.unsubscription.at) / 1000 : 0
        if (record.unsubscription && unsubscribedAt >= claims.issuedAt) { outcome = 'unsubscribed-since'; return null }
        const at = now().toISOString()
        record.status = 'confirmed'
        record.confirmation = { at, ...from(by) }
        record.updatedAt = at
        outcome = 'confirmed'
        return record
      })
      return outcome
    },

    async unsubscribe (token: string, by: Requester & { via: 'page' | 'one-click' }): Promise<UnsubscribeOutcome> {
      const claims = tokens.verify(token, 'unsubscribe')
      let outcome: UnsubscribeOutcome = 'gone'
      await updateFor(claims, record => {
        // Suppressed stays suppressed (stronger than unsubscribed); repeating is harmless.
        if (record.status === 'unsubscribed' || record.status === 'suppressed') { outcome = 'already-unsubscribed'; return null }
        const at = now().toISOString()
        record.status = 'unsubscribed'
        record.unsubscription = { at, ...from(by), via: by.via }
        record.updatedAt = at
        outcome = 'unsubscribed'
        return record
      })
      return outcome
    },

    /** A newly minted short-lived presigned URL of the whitepaper's current version, or null if it is gone. */
    async renew (token: string): Promise<{ pointer: WhitepaperPointer, link: MintedLink } | null> {
      const claims = tokens.verify(token, 'renew')
      const pointer = await catalog.current(claims.slug)
      if (!pointer) return null
      return { pointer, link: await links.mint(pointer, options.freshLinkTtlSeconds) }
    }
  }
}
