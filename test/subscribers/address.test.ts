import t from 'tap'
import { createHash, createHmac } from 'node:crypto'
import { createAddressKeys, legacyAddressHash, parseAddress } from '../../src/subscribers/address.ts'
import { ValidationError } from '../../src/errors.ts'

function codeOf (input: unknown): string | undefined {
  try {
    parseAddress(input)
  } catch (err) {
    if (err instanceof ValidationError) return err.code
    throw err
  }
  return undefined
}

t.test('canonical form: trimmed, lowercased, IDN domains in punycode', async t => {
  t.equal(parseAddress('  Jane.Doe@Example.COM ').address, 'jane.doe@example.com')
  t.equal(parseAddress('user@bücher.example').address, 'user@xn--bcher-kva.example')
  t.equal(parseAddress('user@example.com.').address, 'user@example.com', 'trailing root dot')
  t.equal(parseAddress('o\'brien+news@mail.example.org').address, 'o\'brien+news@mail.example.org')
})

t.test('valid IDN addresses are accepted, typed in Unicode or in punycode', async t => {
  t.equal(parseAddress('u@bücher.de').address, 'u@xn--bcher-kva.de')
  t.equal(parseAddress('u@xn--bcher-kva.de').address, 'u@xn--bcher-kva.de', 'punycode that decodes and round-trips')
  t.equal(parseAddress('u@XN--BCHER-KVA.DE').address, 'u@xn--bcher-kva.de')
  t.equal(parseAddress('u@bu\u0308cher.de').address, 'u@xn--bcher-kva.de', 'a combining mark (decomposed ü) is a letter part')
  t.equal(parseAddress('u@münchen.de').address, 'u@xn--mnchen-3ya.de')
  t.equal(parseAddress('u@例え.テスト').address, 'u@xn--r8jz45g.xn--zckzah', 'an IDN top-level domain')
  t.equal(parseAddress('u@xn--r8jz45g.xn--zckzah').address, 'u@xn--r8jz45g.xn--zckzah')
  t.equal(parseAddress('u@пример.рф').address, 'u@xn--e1afmkfd.xn--p1ai')
  t.equal(parseAddress('u=x@example.com').address, 'u=x@example.com', 'an equals sign alone is not an encoded word')
})

t.test('the key is an HMAC of the canonical address under ADDRESS_KEY, so case variants share one record', async t => {
  const keys = createAddressKeys('k'.repeat(32))
  const a = keys.keyOf(parseAddress('Jane@Example.com').address)
  const b = keys.keyOf(parseAddress('jane@example.COM').address)
  t.equal(a, b)
  t.match(a, /^[0-9a-f]{64}$/, '64 hex digits, like the keys of before (token and key formats stay)')
  t.not(a, createHash('sha256').update('jane@example.com').digest('hex'), 'not the plain SHA-256 anyone can compute')
  t.equal(a, createHmac('sha256', 'k'.repeat(32)).update('leadlink-address\0jane@example.com').digest('hex'), 'HMAC-SHA256, domain-separated')
  t.not(createAddressKeys('l'.repeat(32)).keyOf('jane@example.com'), a, 'another ADDRESS_KEY gives other keys')
  t.equal(legacyAddressHash('jane@example.com'), createHash('sha256').update('jane@example.com').digest('hex'), 'the key of before, to find records not yet moved')
  t.not(keys.legacyRefOf(legacyAddressHash('jane@example.com')), a, 'the mapping of an old key is keyed apart from the record')
  t.throws(() => createAddressKeys('short'), /at least 32/, 'a short key is refused')
})

t.test('missing or empty input is "required"', async t => {
  t.equal(codeOf(undefined), 'email_required')
  t.equal(codeOf(''), 'email_required')
  t.equal(codeOf('   '), 'email_required')
  t.equal(codeOf(42), 'email_required')
})

const invalid = [
  'plainaddress',
  '@example.com',
  'user@',
  'user@localhost',
  'user@example',
  'user@@example.com',
  'user@exa mple.com',
  'user name@example.com',
  'Jane <jane@example.com>',
  '"Jane" jane@example.com',
  'jane@example.com, other@example.com',
  'jane@example.com;other@example.com',
  'jane@example.com\r\nBcc: victim@example.com',
  'jane@example.com\nX: y',
  'jane\u0000@example.com',
  '.jane@example.com',
  'jane.@example.com',
  'ja..ne@example.com',
  'jane@-example.com',
  'jane@example-.com',
  'jane@[127.0.0.1]',
  'jane@127.0.0.1',
  'jané@example.com',
  `${'a'.repeat(65)}@example.com`,
  `a@${'b'.repeat(64)}.com`,
  `${'a'.repeat(60)}@${Array.from({ length: 4 }, () => 'c'.repeat(60)).join('.')}.com`,
  'x'.repeat(5000),
  // URL syntax: domainToASCII would parse these as URL hosts and keep only example.com.
  'u@example.com/../x',
  'u@example.com/',
  'u@example.com?x',
  'u@example.com#x',
  'u@ex%61mple.com',
  'u@example.com%2F..',
  'a/b@example.com',
  'a?b@example.com',
  'a%b@example.com',
  'victim%example.org@example.com',
  'a#b@example.com',
  // Only letters, digits, hyphens and dots in a domain as typed.
  'u@ex_ample.com',
  'u@example.com\u3002',
  'u@example\uff0ecom',
  'u@💩.la',
  'u@ex*ample.com',
  // Punycode that does not decode, or does not round-trip.
  'u@xn--zz.com',
  'u@xn--.com',
  'u@xn--a.com',
  'u@xn--abc-.com',
  'u@example.xn--zz',
  'u@xn--ls8h.la',
  // RFC 2047 encoded words.
  '=?utf-8?q?victim=40example.org?=@example.com',
  '=?utf-8?b?dmljdGltQGV4YW1wbGUub3Jn?=@example.com',
  'u=?@example.com'
]

for (const input of invalid) {
  t.test(`refuses ${JSON.stringify(input.slice(0, 60))}`, async t => {
    t.equal(codeOf(input), 'email_invalid')
  })
}

t.test('history caps keep the newest lines, and always the first signup (the original opt-in)', async t => {
  const { capHistory, capSignups, MAX_HISTORY } = await import('../../src/subscribers/store.ts')
  const items = Array.from({ length: MAX_HISTORY + 10 }, (_, i) => i)
  t.same(capHistory(items), items.slice(10))
  t.same(capSignups(items), [0, ...items.slice(11)])
  t.equal(capSignups(items).length, MAX_HISTORY)
  t.same(capSignups([1, 2]), [1, 2])
})
