import t from 'tap'
import { createHash, createHmac } from 'node:crypto'
import { createTokenSigner, TokenError } from '../../src/recipient-links/tokens.ts'
import { createAddressKeys } from '../../src/subscribers/address.ts'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)
const hash = createAddressKeys('k'.repeat(32)).keyOf('jane@example.com')
const NOW = Date.parse('2026-06-01T00:00:00Z')
const claims = { purpose: 'confirm' as const, addressHash: hash, slug: 'q3-report', expiresAt: NOW / 1000 + 3600 }

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof TokenError) return err.code
    throw err
  }
  return undefined
}

t.test('round trip: the claims come back, URL-safe and short', async t => {
  const signer = createTokenSigner([A], () => NOW)
  const token = signer.sign(claims)
  t.match(token, /^[A-Za-z0-9_-]+$/)
  t.ok(token.length < 130, `short enough for a URL (${token.length})`)
  t.same(signer.verify(token, 'confirm'), { ...claims, issuedAt: NOW / 1000 })
})

t.test('tampering with any byte, or truncating, is refused', async t => {
  const signer = createTokenSigner([A], () => NOW)
  const token = signer.sign(claims)
  const raw = Buffer.from(token, 'base64url')
  for (let i = 0; i < raw.length; i++) {
    const copy = Buffer.from(raw)
    copy[i] = (copy[i] ?? 0) ^ 0x01
    if (codeOf(() => signer.verify(copy.toString('base64url'), 'confirm')) !== 'token_invalid') t.fail(`byte ${i} flipped was accepted`)
  }
  t.equal(codeOf(() => signer.verify(token.slice(0, -2), 'confirm')), 'token_invalid')
  t.equal(codeOf(() => signer.verify(`${token}AA`, 'confirm')), 'token_invalid')
  t.equal(codeOf(() => signer.verify('', 'confirm')), 'token_invalid')
  t.equal(codeOf(() => signer.verify('not a token!', 'confirm')), 'token_invalid')
  t.equal(codeOf(() => signer.verify('A'.repeat(300), 'confirm')), 'token_invalid')
})

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Every string one edit away from `token`: each character removed, changed, or one inserted anywhere (appended too). */
function oneEditAway (token: string): string[] {
  const out: string[] = []
  for (let i = 0; i <= token.length; i++) {
    for (const c of ALPHABET) out.push(token.slice(0, i) + c + token.slice(i))
    if (i === token.length) break
    out.push(token.slice(0, i) + token.slice(i + 1))
    for (const c of ALPHABET) if (c !== token[i]) out.push(token.slice(0, i) + c + token.slice(i + 1))
  }
  return out
}

t.test('only the canonical spelling decodes: every one-character append, removal or change is refused', async t => {
  const signer = createTokenSigner([A], () => NOW)
  // Slugs of 7, 8 and 9 bytes make tokens of 81, 82 and 83 bytes: the last base64url quantum is full, or
  // its last character carries 4 or 2 bits the decoder ignores; an appended character lands in each position.
  for (const purpose of ['confirm', 'unsubscribe', 'renew'] as const) {
    for (const slug of ['default', 'default2', 'q3-report']) {
      const token = signer.sign({ ...claims, purpose, slug })
      t.ok(signer.verify(token, purpose), `${purpose} token with a ${slug.length}-byte slug verifies`)
      const accepted: string[] = []
      const edits = oneEditAway(token)
      for (const edited of edits) if (codeOf(() => signer.verify(edited, purpose)) !== 'token_invalid') accepted.push(edited)
      t.same(accepted, [], `${purpose}, ${slug.length}-byte slug: all ${edits.length} one-character edits are token_invalid`)
    }
  }
})

t.test('a token whose re-encoding differs is refused, even though it decodes to valid bytes', async t => {
  const signer = createTokenSigner([A], () => NOW)
  // The slug the service uses by default: 81 bytes, 108 characters, and a lone 109th is dropped.
  const token = signer.sign({ ...claims, purpose: 'renew', slug: 'default' })
  t.same(Buffer.from(`${token}x`, 'base64url'), Buffer.from(token, 'base64url'), 'the decoder drops an appended character')
  t.equal(codeOf(() => signer.verify(`${token}x`, 'renew')), 'token_invalid')
  t.equal(codeOf(() => signer.verify(`${token}=`, 'renew')), 'token_invalid', 'no padding either')
  // 83 bytes end in a 2-byte quantum: its last character has 2 bits the decoder ignores.
  const longer = signer.sign({ ...claims, purpose: 'renew', slug: 'q3-report' })
  const bytes = Buffer.from(longer, 'base64url')
  const last = ALPHABET.indexOf(longer.at(-1) ?? '')
  const sibling = longer.slice(0, -1) + ALPHABET[last ^ 1]
  t.same(Buffer.from(sibling, 'base64url'), bytes, 'a sibling spelling decodes to the very same bytes')
  t.equal(codeOf(() => signer.verify(sibling, 'renew')), 'token_invalid')
})

t.test('a token for one purpose never works for another', async t => {
  const signer = createTokenSigner([A], () => NOW)
  const unsubscribe = signer.sign({ ...claims, purpose: 'unsubscribe', expiresAt: 0 })
  t.equal(codeOf(() => signer.verify(unsubscribe, 'confirm')), 'token_invalid')
  t.equal(codeOf(() => signer.verify(unsubscribe, 'renew')), 'token_invalid')
  t.equal(signer.verify(unsubscribe, 'unsubscribe').purpose, 'unsubscribe')
})

t.test('expiry: expired is a distinct, friendly code; 0 never expires', async t => {
  let clock = NOW
  const signer = createTokenSigner([A], () => clock)
  const token = signer.sign(claims)
  const forever = signer.sign({ ...claims, purpose: 'unsubscribe', expiresAt: 0 })
  clock = NOW + 3599_000
  t.ok(signer.verify(token, 'confirm'))
  clock = NOW + 3600_000
  t.equal(codeOf(() => signer.verify(token, 'confirm')), 'token_expired')
  clock = NOW + 10 * 365 * 86400_000
  t.ok(signer.verify(forever, 'unsubscribe'), 'unsubscribe tokens outlive everything')
})

t.test('rotation: the first secret signs, every secret verifies, removed secrets stop working', async t => {
  const old = createTokenSigner([A], () => NOW).sign(claims)
  const rotated = createTokenSigner([B, A], () => NOW)
  t.ok(rotated.verify(old, 'confirm'), 'old links keep working during rotation')
  const fresh = rotated.sign(claims)
  t.ok(createTokenSigner([B], () => NOW).verify(fresh, 'confirm'), 'new links are signed with the new secret')
  t.equal(codeOf(() => createTokenSigner([A], () => NOW).verify(fresh, 'confirm')), 'token_invalid')
  t.equal(codeOf(() => createTokenSigner([B], () => NOW).verify(old, 'confirm')), 'token_invalid', 'retired secret')
})

t.test('a token from another deployment (other secret) is just invalid', async t => {
  const theirs = createTokenSigner(['z'.repeat(40)], () => NOW).sign(claims)
  t.equal(codeOf(() => createTokenSigner([A], () => NOW).verify(theirs, 'confirm')), 'token_invalid')
})

t.test('errors carry statuses for the pages: 400 invalid, 410 expired', async t => {
  t.equal(new TokenError('token_invalid', 'x').statusCode, 400)
  t.equal(new TokenError('token_expired', 'x').statusCode, 410)
})

t.test('a token of before ADDRESS_KEY (format 1, the plain SHA-256) still verifies, flagged for the key mapping', async t => {
  const signer = createTokenSigner([A], () => NOW)
  const fresh = Buffer.from(signer.sign({ ...claims, purpose: 'unsubscribe', expiresAt: 0 }), 'base64url')
  t.equal(fresh[0], 2, 'tokens are signed in format 2')
  t.notOk('legacyKey' in signer.verify(fresh.toString('base64url'), 'unsubscribe'), 'a token of now is not flagged')
  // As the service signed them before: version byte 1, the address's plain SHA-256.
  const payload = Buffer.from(fresh.subarray(0, fresh.length - 32))
  payload[0] = 1
  const old = createHash('sha256').update('jane@example.com').digest('hex')
  Buffer.from(old, 'hex').copy(payload, 2)
  const mac = createHmac('sha256', A).update('leadlink-token').update(payload).digest()
  const token = Buffer.concat([payload, mac]).toString('base64url')
  t.same(signer.verify(token, 'unsubscribe'), { purpose: 'unsubscribe', addressHash: old, slug: 'q3-report', issuedAt: NOW / 1000, expiresAt: 0, legacyKey: true })
  payload[0] = 3
  const unknown = Buffer.concat([payload, createHmac('sha256', A).update('leadlink-token').update(payload).digest()]).toString('base64url')
  t.equal(codeOf(() => signer.verify(unknown, 'unsubscribe')), 'token_invalid', 'a format it does not know is refused')
})
