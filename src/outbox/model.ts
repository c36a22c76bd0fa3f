// The outbox's records as TypeBox schemas (types derived from them, every read checked): a batch of
// emails owed (outbox/<id>.json) and the log of a finished batch (deliveries/<day>/<id>.json).
import { Type, type Static } from 'typebox'

/** One email owed. The address is here so that sending needs no extra read; keys stay hashed. */
export const OutboxItemSchema = Type.Object({
  id: Type.String(),
  address: Type.String(),
  addressHash: Type.String(),
  slug: Type.String(),
  requestedAt: Type.String(),
  /** returning: the address had unsubscribed, and the email says it stays so unless confirmed */
  kind: Type.Optional(Type.Literal('returning'))
})
export type OutboxItem = Static<typeof OutboxItemSchema>

export const ItemRetrySchema = Type.Object({
  attempts: Type.Integer({ minimum: 0 }),
  notBefore: Type.String(),
  lastError: Type.String()
})
export type ItemRetry = Static<typeof ItemRetrySchema>

/** What SES accepted for one item. */
export const SendResultSchema = Type.Object({
  messageId: Type.String(),
  version: Type.String(),
  linkExpiresAt: Type.String(),
  sentAt: Type.String()
})
export type SendResult = Static<typeof SendResultSchema>

export const OutcomeSchema = Type.Union([Type.Literal('sent'), Type.Literal('failed'), Type.Literal('skipped')])

export const OutboxBatchSchema = Type.Object({
  schemaVersion: Type.Literal(1),
  id: Type.String(),
  createdAt: Type.String(),
  /** the instance working on it, until `leaseUntil`; anyone may claim it after */
  owner: Type.String(),
  leaseUntil: Type.String(),
  items: Type.Array(OutboxItemSchema),
  /** outcome per item id; items without one are still owed */
  done: Type.Record(Type.String(), OutcomeSchema),
  retries: Type.Record(Type.String(), ItemRetrySchema),
  /** what SES accepted, per item id (kept in the delivery log once the batch is done) */
  results: Type.Optional(Type.Record(Type.String(), SendResultSchema))
})
export type OutboxBatch = Static<typeof OutboxBatchSchema>

/** A finished batch, as kept under deliveries/: item ids, no addresses or record keys. */
export const DeliveryLogSchema = Type.Object({
  schemaVersion: Type.Literal(1),
  batch: Type.String(),
  finishedAt: Type.String(),
  items: Type.Array(Type.Object({
    id: Type.String(),
    /** logs written before the record's item ids were the only link kept a record key here */
    addressHash: Type.Optional(Type.String()),
    slug: Type.String(),
    requestedAt: Type.String(),
    outcome: OutcomeSchema,
    ...Type.Partial(SendResultSchema).properties
  }))
})
export type DeliveryLog = Static<typeof DeliveryLogSchema>
