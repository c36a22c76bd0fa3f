// Which SNS messages have been handled: one marker object per MessageId in S3, created only after the
// message's effects are stored, so that deduplication holds across retries, restarts and instances.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
import type { S3Client } from '@aws-sdk/client-s3'
import { createJsonStore, WriteConflict } from '../storage/json-store.ts'

// SNS MessageIds are UUIDs; anything else (a slash, a dot, a space) never becomes part of a key.
const MESSAGE_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/

export function isMessageId (id: string): boolean {
  return MESSAGE_ID.test(id)
}

/** Marker keys sit under one prefix, which a lifecycle rule expires (README, SES notifications). */
export function markerKey (messageId: string): string {
  if (!isMessageId(messageId)) throw new Error('not an SNS MessageId')
  return `webhooks/sns/${messageId}.json`
}

/** What a marker records: never an address, only what the message was and what it did. */
export interface ProcessedMarker {
  schemaVersion: 1
  type: string
  topicArn: string
  processedAt: string
  suppressed?: number
  /** the SES event type, for event publishing */
  eventType?: string
}

export type ProcessedMessages = ReturnType<typeof createProcessedMessages>

export function createProcessedMessages (options: { s3: S3Client, bucket: string, cacheSize?: number }) {
  const json = createJsonStore(options)
  const cacheSize = options.cacheSize ?? 10_000
  // Only ids whose marker is known to be in S3: a cache in front of the marker, never instead of it.
  const durable = new Set<string>()
  const remember = (id: string) => {
    durable.add(id)
    if (durable.size > cacheSize) durable.delete(durable.values().next().value as string)
  }

  return {
    /** True when the message was handled (here or by another instance); S3 errors propagate. */
    async has (messageId: string): Promise<boolean> {
      if (durable.has(messageId)) return true
      if (!await json.exists(markerKey(messageId))) return false
      remember(messageId)
      return true
    },
    /**
     * Records the message as handled, once its effects are durable. Created with `If-None-Match: *`:
     * a 412 means another instance recorded it first, which is just as good. A 409 (a conflicting
     * write still in flight) is not: that write may yet fail, so it is an error and SNS retries.
     * Answers true when this call created the marker: what is counted once (the funnel) is counted then.
     */
    async mark (messageId: string, marker: ProcessedMarker): Promise<boolean> {
      let created = true
      try {
        await json.put(markerKey(messageId), marker, { ifNoneMatch: '*' })
      } catch (err) {
        if (!(err instanceof WriteConflict) || err.inFlight) throw err
        created = false
      }
      remember(messageId)
      return created
    }
  }
}
