// Signed link tokens: HMAC-SHA256 over a compact binary payload, bound to a purpose, an address
// record and a whitepaper. The first secret signs; every configured secret verifies (rotation).
import { createHmac, timingSafeEqual } from 'node:crypto'
import { DomainError } from '../errors.ts'

// privacy: the page where the person downloads or erases their data (/p/), from the email's footer.
export type Purpose = 'confirm' | 'unsubscribe' | 'renew' | 'privacy'

const PURPOSES: Purpose[] = ['confirm', 'unsubscribe', 'renew', 'privacy']
// Version 2: the record key is the HMAC of the address under ADDRESS_KEY. Version 1 tokens (sent before)
// carry the address's plain SHA-256: still accepted, flagged, and resolved through the key migration's
// mapping (src/subscribers/legacy-keys.ts), since an unsubscribe link must keep working for ever.
const FORMAT_VERSION = 2
const LEGACY_VERSION = 1
const MAC_BYTES = 32
// version(1) purpose(1) addressKey(32) issuedAt(4) expiresAt(4) slug(1..64)
const FIXED = 1 + 1 + 32 + 4 + 4

export interface TokenClaims {
  purpose: Purpose
  /** the record key (HMAC-SHA256 hex of the normalised address under ADDRESS_KEY), never the address */
  addressHash: string
  /** a token of before ADDRESS_KEY: addressHash is the address's plain SHA-256 (store.resolveLegacy) */
  legacyKey?: true
  slug: string
  /** unix seconds */
  issuedAt: number
  /** unix seconds; 0 never expires */
  expiresAt: number
}

/** Every rejection looks the same to the visitor: no oracle about addresses or secrets. */
export class TokenError extends DomainError {
  constructor (code: 'token_invalid' | 'token_expired', message: string) {
    super(code, message, code === 'token_expired' ? 410 : 400)
  }
}

const INVALID = 'This link is not valid. It may have been cut short or changed: copy the whole address from the email.'

function mac (secret: string, payload: Buffer): Buffer {
  return createHmac('sha256', secret).update('leadlink-token').update(payload).digest()
}

export interface TokenSigner {
  sign: (claims: Omit<TokenClaims, 'issuedAt'> & { issuedAt?: number }) => string
  verify: (token: string, purpose: Purpose) => TokenClaims
}

export function createTokenSigner (secrets: string[], now: () => number = Date.now): TokenSigner {
  if (secrets.length === 0) throw new Error('at least one token secret is required')
  const [signing] = secrets as [string, ...string[]]
  return {
    sign (claims) {
      const slug = Buffer.from(claims.slug, 'utf8')
      if (slug.length < 1 || slug.length > 64) throw new Error('slug length out of range')
      if (!/^[0-9a-f]{64}$/.test(claims.addressHash)) throw new Error('address key must be 64 hex digits')
      const payload = Buffer.alloc(FIXED + slug.length)
      payload.writeUInt8(FORMAT_VERSION, 0)
      payload.writeUInt8(PURPOSES.indexOf(claims.purpose), 1)
      Buffer.from(claims.addressHash, 'hex').copy(payload, 2)
      payload.writeUInt32BE(claims.issuedAt ?? Math.floor(now() / 1000), 34)
      payload.writeUInt32BE(claims.expiresAt, 38)
      slug.copy(payload, FIXED)
      return Buffer.concat([payload, mac(signing, payload)]).toString('base64url')
    },

    verify (token, purpose) {
      if (typeof token !== 'string' || token.length > 256 || !/^[A-Za-z0-9_-]+$/.test(token)) {
        throw new TokenError('token_invalid', INVALID)
      }
      const raw = Buffer.from(token, 'base64url')
      // Node's decoder ignores a trailing lone character and the unused low bits of the last one, so
      // several strings decode to the same bytes: only the one canonical spelling is accepted (RFC 4648
      // §3.5), so a link changed in any way, even in bits the decoder drops, is refused.
      if (raw.toString('base64url') !== token) throw new TokenError('token_invalid', INVALID)
      if (raw.length < FIXED + 1 + MAC_BYTES || raw.length > FIXED + 64 + MAC_BYTES) throw new TokenError('token_invalid', INVALID)
      const payload = raw.subarray(0, raw.length - MAC_BYTES)
      const given = raw.subarray(raw.length - MAC_BYTES)
      // Check every secret (constant time each) so timing says nothing about which one matched.
      let valid = false
      for (const secret of secrets) valid = timingSafeEqual(mac(secret, payload), given) || valid
      const version = payload.readUInt8(0)
      if (!valid || (version !== FORMAT_VERSION && version !== LEGACY_VERSION)) throw new TokenError('token_invalid', INVALID)
      // A token minted for one purpose never works for another (an unsubscribe link cannot confirm).
      if (PURPOSES[payload.readUInt8(1)] !== purpose) throw new TokenError('token_invalid', INVALID)
      const claims: TokenClaims = {
        purpose,
        addressHash: payload.subarray(2, 34).toString('hex'),
        issuedAt: payload.readUInt32BE(34),
        expiresAt: payload.readUInt32BE(38),
        slug: payload.subarray(FIXED).toString('utf8'),
        ...(version === LEGACY_VERSION ? { legacyKey: true as const } : {})
      }
      if (claims.expiresAt !== 0 && claims.expiresAt * 1000 <= now()) {
        throw new TokenError('token_expired', 'This link has expired.')
      }
      return claims
    }
  }
}
