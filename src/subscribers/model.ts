// A subscriber record (subscribers/<key>.json) as a TypeBox schema: the types are derived from it,
// and every record read from S3 is checked against it (src/storage/json-store.ts).
import { Type, type Static } from 'typebox'

export const SubscriberStatusSchema = Type.Union([
  Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('unsubscribed'), Type.Literal('suppressed')
])
export type SubscriberStatus = Static<typeof SubscriberStatusSchema>

/** Proof of consent: what the visitor saw and where the request came from. */
export const ConsentProofSchema = Type.Object({
  at: Type.String(),
  slug: Type.String(),
  consentText: Type.String(),
  consentVersion: Type.String(),
  ip: Type.String(),
  userAgent: Type.String()
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

/** Who did something to the record, from where (proof for confirmations and unsubscribes). */
export const ActionProofSchema = Type.Object({
  at: Type.String(),
  ip: Type.String(),
  userAgent: Type.String()
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
