// A subscriber record (subscribers/<key>.json) as a TypeBox schema: the types are derived from it,
// and every record read from S3 is checked against it (src/storage/json-store.ts).
import { Type, type Static } from 'typebox'

export const SubscriberStatusSchema = Type.Union([
  Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('unsubscribed'), Type.Literal('suppressed')
])
export type SubscriberStatus = Static<typeof SubscriberStatusSchema>

// Where a request came from is kept only while RECORD_SIGNUP_IP is on (the default, as proof of consent):
// with it off, records written from then on hold neither field.
const RequesterSchema = {
  ip: Type.Optional(Type.String({ description: 'the client IP (absent with RECORD_SIGNUP_IP off)' })),
  userAgent: Type.Optional(Type.String({ description: 'the User-Agent header (absent with RECORD_SIGNUP_IP off)' }))
}

/** Proof of consent: what the visitor saw and, with RECORD_SIGNUP_IP on, where the request came from. */
export const ConsentProofSchema = Type.Object({
  at: Type.String(),
  slug: Type.String(),
  consentText: Type.String(),
  consentVersion: Type.String(),
  ...RequesterSchema
})
export type ConsentProof = Static<typeof ConsentProofSchema>

export const DeliverySchema = Type.Object({
  at: Type.String({ description: 'when the email was asked for' }),
  slug: Type.String(),
  status: Type.Union([Type.Literal('requested'), Type.Literal('failed')], {
    description: 'requested: an email was owed for this signup (what SES accepted, with its message id, is in the ' +
      'delivery log deliveries/<day>/<batch>.json); failed: given up on (see error)'
  }),
  outboxId: Type.Optional(Type.String({ description: 'the outbox item that carries it (and its line in the delivery log)' })),
  error: Type.Optional(Type.String())
})
export type Delivery = Static<typeof DeliverySchema>

/** Who did something to the record, and with RECORD_SIGNUP_IP on from where (confirmations and unsubscribes). */
export const ActionProofSchema = Type.Object({
  at: Type.String(),
  ...RequesterSchema
})
export type ActionProof = Static<typeof ActionProofSchema>

export const SuppressionSchema = Type.Object({
  at: Type.String(),
  reason: Type.Union([Type.Literal('bounce'), Type.Literal('complaint')]),
  detail: Type.String(),
  feedbackId: Type.Optional(Type.String())
})

export const SubscriberRecordSchema = Type.Object({
  schemaVersion: Type.Literal(1),
  address: Type.String(),
  addressHash: Type.String(),
  status: SubscriberStatusSchema,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  /** double opt-in: when and from where the confirm button was pressed */
  confirmation: Type.Optional(ActionProofSchema),
  unsubscription: Type.Optional(Type.Object({
    ...ActionProofSchema.properties,
    via: Type.Union([Type.Literal('page'), Type.Literal('one-click'), Type.Literal('erase')])
  }, { description: 'the latest unsubscribe, and how (the page\'s button, an RFC 8058 one-click POST, or an erasure: then no IP or user agent)' })),
  /** why the address is suppressed (status 'suppressed'): a permanent bounce or a complaint */
  suppression: Type.Optional(SuppressionSchema),
  /** a tombstone (src/subscribers/erase.ts): the address was erased; only what keeps it from being mailed is left */
  erasedAt: Type.Optional(Type.String()),
  signups: Type.Array(ConsentProofSchema, { description: 'every form submission, newest last (capped)' }),
  deliveries: Type.Array(DeliverySchema, { description: 'every email sent or attempted, newest last (capped)' })
})
export type SubscriberRecord = Static<typeof SubscriberRecordSchema>
