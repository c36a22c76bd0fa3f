// Admin sessions kept server-side, one small S3 object per log-in, so that logging out ends the
// session on every instance at once (the signed cookie alone would stay valid until it expires).
//   admin/sessions/<sha256 of the session nonce>.json   { issuedAt, expiresAt }: created at log-in
//                                                       (If-None-Match: *), deleted at log-out
import { createHash } from 'node:crypto'
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { isNotFound } from '../aws/errors.ts'
import { UnavailableError } from '../errors.ts'
import type { AdminSession } from './auth.ts'

export const SESSIONS_PREFIX = 'admin/sessions/'

/** The record's key: a hash of the nonce, so that a bucket listing holds nothing a cookie is made of. */
export function sessionKey (session: Pick<AdminSession, 'nonce'>): string {
  return `${SESSIONS_PREFIX}${createHash('sha256').update(session.nonce, 'utf8').digest('hex')}.json`
}

export interface SessionStoreOptions {
  s3: S3Client
  bucket: string
  now?: () => number
}

interface SessionRecord {
  issuedAt: number
  expiresAt: number
}

export type SessionStore = ReturnType<typeof createSessionStore>

function unavailable (err: unknown): UnavailableError {
  return new UnavailableError('Admin sessions cannot be checked right now. Try again in a minute.', { cause: err })
}

export function createSessionStore (options: SessionStoreOptions) {
  const { s3, bucket } = options
  const now = options.now ?? Date.now

  return {
    /** Records a new session; a nonce already taken (18 random bytes: never in practice) is an error. */
    async create (session: AdminSession): Promise<void> {
      const record: SessionRecord = { issuedAt: session.issuedAt, expiresAt: session.expiresAt }
      await s3.send(new PutObjectCommand({
        Bucket: bucket,
        Key: sessionKey(session),
        Body: JSON.stringify(record),
        ContentType: 'application/json',
        IfNoneMatch: '*'
      })).catch(err => { throw unavailable(err) })
    },

    /** Whether the session is still recorded and unexpired (read on every admin request: no cache, so a log-out holds at once). */
    async isActive (session: AdminSession): Promise<boolean> {
      let text: string
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: sessionKey(session) }))
        text = await res.Body?.transformToString() ?? ''
      } catch (err) {
        if (isNotFound(err)) return false
        throw unavailable(err)
      }
      let record: Partial<SessionRecord>
      try { record = JSON.parse(text) as Partial<SessionRecord> } catch { return false }
      return record.issuedAt === session.issuedAt && typeof record.expiresAt === 'number' && now() / 1000 < record.expiresAt
    },

    /** Ends the session for every instance (deleting an absent record is fine: logging out twice is harmless). */
    async revoke (session: AdminSession): Promise<void> {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: sessionKey(session) })).catch(err => { throw unavailable(err) })
    }
  }
}
