// What a SES bounce or complaint notification asks for: the addresses to suppress, and why.
// https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
import type { SuppressionEvent } from '../subscribers/suppression.ts'

export interface SesMessage {
  notificationType?: string
  eventType?: string
  bounce?: { bounceType?: string, bounceSubType?: string, feedbackId?: string, timestamp?: string, bouncedRecipients?: Array<{ emailAddress?: string }> }
  complaint?: { complaintFeedbackType?: string, feedbackId?: string, timestamp?: string, complainedRecipients?: Array<{ emailAddress?: string }> }
}

/** The suppressions a SES notification asks for (feedback notifications and event publishing alike). */
export function suppressionsOf (message: SesMessage, receivedAt: string): SuppressionEvent[] {
  const type = message.notificationType ?? message.eventType
  if (type === 'Bounce' && message.bounce?.bounceType === 'Permanent') {
    const b = message.bounce
    return (b.bouncedRecipients ?? []).flatMap(r => r.emailAddress
      ? [{ address: r.emailAddress, reason: 'bounce' as const, detail: `Permanent/${b.bounceSubType ?? 'General'}`, at: b.timestamp ?? receivedAt, ...(b.feedbackId ? { feedbackId: b.feedbackId } : {}) }]
      : [])
  }
  if (type === 'Complaint') {
    const c = message.complaint ?? {}
    return (c.complainedRecipients ?? []).flatMap(r => r.emailAddress
      ? [{ address: r.emailAddress, reason: 'complaint' as const, detail: c.complaintFeedbackType ?? 'abuse', at: c.timestamp ?? receivedAt, ...(c.feedbackId ? { feedbackId: c.feedbackId } : {}) }]
      : [])
  }
  return []
}
