// Admin authentication: the ADMIN_TOKEN compared in constant time, a signed session cookie, and a
// per-session CSRF token derived from it. Which sessions are still open is kept in S3 (sessions.ts).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

export const SESSION_COOKIE = 'leadlink_admin'
export const CSRF_FIELD = '_csrf'
export const CSRF_HEADER = 'x-csrf-token'

export interface AdminAuthOptions {
  adminToken: string
  /** TOKEN_SECRET's secrets: the first one keys the cookie and CSRF secrets along with ADMIN_TOKEN */
  tokenSecrets: string[]
  sessionSeconds: number
  now?: () => number
}

export interface AdminSession {
  /** the cookie's value as signed: also what the CSRF token is bound to */
  value: string
  /** the random part of the value: what the server-side record is keyed by (hashed) */
  nonce: string
  issuedAt: number
  expiresAt: number
}

function sha256 (value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}

/** Equal-length digests compared with timingSafeEqual: neither the token's length nor its content leaks. */
export function safeEqual (candidate: string, expected: string): boolean {
  return timingSafeEqual(sha256(candidate), sha256(expected))
}

export type AdminAuth = ReturnType<typeof createAdminAuth>

export function createAdminAuth (options: AdminAuthOptions) {
  const now = options.now ?? Date.now
  // Changing ADMIN_TOKEN (or the signing TOKEN_SECRET) ends every session and invalidates every CSRF token.
  const root = createHmac('sha256', options.tokenSecrets[0] ?? options.adminToken)
    .update(`leadlink admin v1\0${options.adminToken}`).digest()
  const derive = (purpose: string) => createHmac('sha256', root).update(purpose).digest('base64url')
  const cookieSecret = derive('session cookie')
  const csrfKey = derive('csrf')

  function csrfFor (sessionValue: string): string {
    return createHmac('sha256', csrfKey).update(sessionValue).digest('base64url')
  }

  return {
    /** the secret @fastify/cookie signs the session cookie with */
    cookieSecret,
    sessionSeconds: options.sessionSeconds,

    checkToken: (candidate: string) => safeEqual(candidate, options.adminToken),

    /** A new session value: issue time and a random nonce (the cookie signature makes it unforgeable). */
    newSession (): AdminSession {
      const issuedAt = Math.floor(now() / 1000)
      const nonce = randomBytes(18).toString('base64url')
      return { value: `${issuedAt}.${nonce}`, nonce, issuedAt, expiresAt: issuedAt + options.sessionSeconds }
    },

    /** The session of an (already unsigned) cookie value, or null when malformed or expired. */
    readSession (value: string | undefined): AdminSession | null {
      const match = /^(\d{1,12})\.([A-Za-z0-9_-]{24})$/.exec(value ?? '')
      if (!match) return null
      const issuedAt = Number(match[1])
      const expiresAt = issuedAt + options.sessionSeconds
      const seconds = now() / 1000
      // A cookie from the future is as suspect as an old one.
      if (seconds >= expiresAt || issuedAt > seconds + 60) return null
      return { value: value as string, nonce: match[2] as string, issuedAt, expiresAt }
    },

    csrfToken: (session: AdminSession) => csrfFor(session.value),

    checkCsrf (session: AdminSession, candidate: unknown): boolean {
      if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 128) return false
      return safeEqual(candidate, csrfFor(session.value))
    }
  }
}
