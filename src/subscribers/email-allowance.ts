// Whether a new form submission may email an address: the rules that keep a signup form from being
// turned against people who never asked (subscription bombing), whatever the IPs, stamps or instances.
import type { SubscriberRecord } from './store.ts'

export interface EmailLimits {
  /** at most one email per address per this many ms, for everyone (0: off) */
  cooldownMs: number
  /** emails an address that has not confirmed gets per window (0: no cap) */
  maxEmails: number
  windowDays: number
}

export interface Allowance {
  outcome: 'queued' | 'suppressed' | 'cooldown' | 'capped'
  /** the address had unsubscribed: the email says so, and it stays unsubscribed */
  returning: boolean
}

const DAY_MS = 24 * 60 * 60 * 1000

/** Emails owed or sent (failed ones never reached anyone) since `since`, in ms. */
function emailsSince (record: SubscriberRecord, since: number): number {
  return record.deliveries.filter(d => d.status !== 'failed' && Date.parse(d.at) > since).length
}

/**
 * - bounced or complained: never (https://docs.aws.amazon.com/ses/latest/dg/send-email-concepts-deliverability.html);
 * - anyone: one email per cooldown;
 * - unsubscribed: one email per window after the unsubscription, worded for that case;
 * - not confirmed: at most `maxEmails` per window.
 */
export function emailAllowance (record: SubscriberRecord, at: number, limits: EmailLimits): Allowance {
  if (record.status === 'suppressed') return { outcome: 'suppressed', returning: false }
  if (limits.cooldownMs > 0 && emailsSince(record, at - limits.cooldownMs) > 0) {
    return { outcome: 'cooldown', returning: false }
  }
  const windowStart = at - limits.windowDays * DAY_MS
  if (record.status === 'unsubscribed') {
    const unsubscribedAt = record.unsubscription ? Date.parse(record.unsubscription.at) : 0
    const capped = emailsSince(record, Math.max(windowStart, unsubscribedAt)) >= 1
    return { outcome: capped ? 'capped' : 'queued', returning: true }
  }
  if (record.status !== 'confirmed' && limits.maxEmails > 0 && emailsSince(record, windowStart) >= limits.maxEmails) {
    return { outcome: 'capped', returning: false }
  }
  return { outcome: 'queued', returning: false }
}
