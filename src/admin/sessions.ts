// Admin sessions kept server-side, one small S3 object per log-in, so that logging out ends the
// session on every instance at once (the signed cookie alone would stay valid until it expires).
//   admin/sessions/<sha256 of the session nonce>.json   { issuedAt, expiresAt }: created at log-in
//                                                       (If-None-Match: *), deleted at log-out
import { createHash } from 'node:crypto'
import type { S3Client } from '@aws-sdk/client-s3'
import { Type, type Static } from 'typebox'
import { UnavailableError } from '../errors.ts'
import { createJsonStore, InvalidRecord } from '../storage/json-store.ts'
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

/** What a session record holds (seconds since the epoch, as in the cookie). */
const SessionRecordSchema = Type.Object({
  issuedAt: Type.Number(),
  expiresAt: Type.Number()
})
type SessionRecord = Static<typeof SessionRecordSchema>

export type SessionStore = ReturnType<typeof createSessionStore>

function unavailable (err: unknown): UnavailableError {
  return new UnavailableError('Admin sessions cannot be checked right now. Try again in a minute.', { cause: err })
}

export function createSessionStore (options: SessionStoreOptions) {
  const json = createJsonStore(options)
  const now = options.now ?? Date.now

  return {
    /** Records a new session; a nonce already taken (18 random bytes: never in practice) is an error. */
    async create (session: AdminSession): Promise<void> {
      const record: SessionRecord = { issuedAt: session.issuedAt, expiresAt: session.expiresAt }
      await json.put(sessionKey(session), record, { ifNoneMatch: '*' }).catch(err => { throw unavailable(err) })
    },

    /** Whether the session is still recorded and unexpired (read on every admin request: no cache, so a log-out holds at once). */
    async isActive (session: AdminSession): Promise<boolean> {
      let record: SessionRecord
      try {
        const found = await json.get(sessionKey(session), SessionRecordSchema)
        if (!found) return false
        record = found.value
      } catch (err) {
        // A record that is not a session record opens nothing.
        if (err instanceof InvalidRecord) return false
        throw unavailable(err)
      }
      return record.issuedAt === session.issuedAt && now() / 1000 < record.expiresAt
    },

    /** Ends the session for every instance (deleting an absent record is fine: logging out twice is harmless). */
    async revoke (session: AdminSession): Promise<void> {
      await json.delete(sessionKey(session)).catch(err => { throw unavailable(err) })
    }
  }
}
