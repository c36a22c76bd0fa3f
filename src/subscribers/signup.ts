// Signup use case: record consent in S3, then email the current whitepaper's presigned link.
import { UnavailableError } from '../errors.ts'
import type { ConfirmationEmail } from '../mail/confirmation-email.ts'
import type { Sender } from '../mail/sender.ts'
import type { Catalog } from '../whitepapers/catalog.ts'
import type { DownloadLinks } from '../whitepapers/download-links.ts'
import type { RecipientLinks } from '../links/recipient-links.ts'
import { parseAddress } from './address.ts'
import { CONSENT_TEXT, CONSENT_VERSION } from './consent.ts'
import { capHistory, upsertSubscriber, type Delivery, type StoredRecord, type SubscriberRecord, type SubscriberStore } from './store.ts'

export interface SignupLogger {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export interface SignupDeps {
  catalog: Catalog
  links: DownloadLinks
  store: SubscriberStore
  email: ConfirmationEmail
  sender: Sender
  recipientLinks: RecipientLinks
  linkTtlSeconds: number
  now?: () => Date
}

export interface SignupRequest {
  email: unknown
  slug: string
  ip: string
  userAgent: string
}

export interface SignupResult {
  /** sent: the email went out; suppressed: the address bounced or complained, nothing is sent */
  outcome: 'sent' | 'suppressed'
  addressHash: string
}

export type Signup = (request: SignupRequest, log: SignupLogger) => Promise<SignupResult>

export function createSignup (deps: SignupDeps): Signup {
  const now = deps.now ?? (() => new Date())

  async function addDelivery (hash: string, known: StoredRecord, delivery: Delivery, log: SignupLogger): Promise<void> {
    try {
      await upsertSubscriber(deps.store, hash, () => known.record, record => {
        record.deliveries = capHistory([...record.deliveries, delivery])
        record.updatedAt = delivery.at
        return record
      }, 5, known)
    } catch (err) {
      // The email's fate is already decided; a lost history line must not turn it into an error page.
      log.warn({ err, addressHash: hash.slice(0, 12) }, 'could not record the delivery on the subscriber')
    }
  }

  return async function signup (request, log) {
    const { address, hash } = parseAddress(request.email)
    const pointer = await deps.catalog.require(request.slug)
    const at = now().toISOString()
    const fresh = (): SubscriberRecord => ({
      schemaVersion: 1,
      address,
      addressHash: hash,
      status: 'pending',
      createdAt: at,
      updatedAt: at,
      signups: [],
      deliveries: []
    })
    let stored: StoredRecord
    try {
      stored = await upsertSubscriber(deps.store, hash, fresh, record => {
        record.signups = capHistory([...record.signups, {
          at, slug: pointer.slug, consentText: CONSENT_TEXT, consentVersion: CONSENT_VERSION, ip: request.ip, userAgent: request.userAgent
        }])
        // Submitting the form again is a new opt-in, unless the address bounced or complained.
        if (record.status === 'unsubscribed') record.status = 'pending'
        record.updatedAt = at
        return record
      })
    } catch (err) {
      throw new UnavailableError('We could not record your signup just now. Please try again in a minute.', { cause: err })
    }
    const logFields = { addressHash: hash.slice(0, 12), slug: pointer.slug, version: pointer.version }
    if (stored.record.status === 'suppressed') {
      log.info(logFields, 'signup from a suppressed address: no email sent')
      return { outcome: 'suppressed', addressHash: hash }
    }

    const link = await deps.links.mint(pointer, deps.linkTtlSeconds)
    const links = deps.recipientLinks.forEmail(hash, pointer.slug)
    const rendered = deps.email.render({ pointer, link, links })
    const delivery: Delivery = {
      at, slug: pointer.slug, version: pointer.version, linkExpiresAt: link.expiresAt.toISOString(), status: 'sent'
    }
    try {
      delivery.messageId = await deps.sender.send({
        to: address,
        ...rendered,
        // RFC 8058 one-click unsubscribe, which Gmail and Yahoo require of subscription mail.
        headers: [
          { name: 'List-Unsubscribe', value: `<${links.unsubscribeUrl}>` },
          { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' }
        ]
      })
    } catch (err) {
      const name = (err as Error).name
      log.error({ err, ...logFields }, 'sending the confirmation email failed')
      await addDelivery(hash, stored, { ...delivery, status: 'failed', error: name }, log)
      throw new UnavailableError('Your signup is saved, but we could not send the email just now. Please submit the form again in a minute.', { cause: err })
    }
    log.info({ ...logFields, messageId: delivery.messageId }, 'confirmation email sent')
    await addDelivery(hash, stored, delivery, log)
    return { outcome: 'sent', addressHash: hash }
  }
}
