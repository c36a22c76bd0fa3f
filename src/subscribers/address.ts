// Email address parsing: one canonical form per mailbox, so one record and one key per person; the key
// is an HMAC of that form under ADDRESS_KEY, which nobody who merely guesses an address can compute.
import { createHash, createHmac } from 'node:crypto'
import { domainToASCII, domainToUnicode } from 'node:url'
import { ValidationError } from '../errors.ts'

// RFC 5321 §4.5.3.1: 64 octets of local part; 254 for a usable forward-path address.
const MAX_ADDRESS = 254
const MAX_LOCAL = 64
// RFC 5322 dot-atom text, ASCII only (SES does not send to UTF-8 local parts).
const LOCAL_RE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/
const LABEL_RE = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/
const TLD_RE = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/
// URL syntax: domainToASCII parses its input as a URL host, so `u@example.com/../x`, `u@example.com?x`
// and `u@ex%61mple.com` would all come out as example.com. In a local part `%` is the old relay hack
// (`victim%host@relay`) and none of the four belongs in a signup address: refused anywhere.
const URL_SYNTAX_RE = /[/?%#]/
// An RFC 2047 encoded word (=?utf-8?q?…?=) is decoded by some mail software into another address.
const ENCODED_WORD_RE = /=\?/
// A domain as typed: letters of any script (IDN), combining marks, digits, hyphens and dots, nothing else.
const DOMAIN_INPUT_RE = /^[\p{L}\p{M}\p{Nd}.-]+$/u

export interface ParsedAddress {
  /** canonical form: local part and domain lowercased, domain in punycode */
  address: string
}

/** Keys of one address under ADDRESS_KEY: the only identifiers that appear in S3 keys, tokens and logs. */
export interface AddressKeys {
  /** HMAC-SHA256 (hex) of the canonical address: its record key (subscribers/<key>.json) */
  keyOf: (address: string) => string
  /**
   * HMAC of a key of before ADDRESS_KEY (the address's plain SHA-256), for the mapping that keeps old
   * unsubscribe links working (src/subscribers/legacy-keys.ts): the plain hash itself is never stored.
   */
  legacyRefOf: (legacyHash: string) => string
}

/** Built once per process from config.privacy.addressKey (src/http/plugins/subscribers.ts). */
export function createAddressKeys (secret: string): AddressKeys {
  if (secret.length < 32) throw new Error('ADDRESS_KEY must be at least 32 characters')
  // Domain separation: the same key never MACs an address and a legacy hash into comparable values.
  return {
    keyOf: address => createHmac('sha256', secret).update('leadlink-address\0').update(address).digest('hex'),
    legacyRefOf: legacyHash => createHmac('sha256', secret).update('leadlink-legacy-key\0').update(legacyHash).digest('hex')
  }
}

function invalid (message = 'Enter an email address like name@example.com.'): ValidationError {
  return new ValidationError('email_invalid', message, 'email')
}

/**
 * An `xn--` label must be real punycode (RFC 3492) of a name we would accept typed in Unicode, and come
 * back unchanged (RFC 5891 §5.4): domainToUnicode returns a label it cannot decode as it was.
 */
function validAceLabel (label: string): boolean {
  const unicode = domainToUnicode(label)
  return unicode !== label && DOMAIN_INPUT_RE.test(unicode) && domainToASCII(unicode) === label
}

/**
 * The record key before ADDRESS_KEY: the address's plain SHA-256. Only to find records not yet moved by
 * `npm run signups -- migrate-keys` (src/subscribers/migrate-keys.ts); never written anywhere.
 */
export function legacyAddressHash (address: string): string {
  return createHash('sha256').update(address).digest('hex')
}

export function parseAddress (input: unknown): ParsedAddress {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new ValidationError('email_required', 'Enter your email address.', 'email')
  }
  const raw = input.trim()
  if (raw.length > MAX_ADDRESS * 4) throw invalid('That email address is too long.')
  // Display names, lists, comments, quoting and header injection are all refused outright.
  if (/[\s<>()[\]\\,;:"\u0000-\u001f\u007f]/.test(raw)) throw invalid()
  if (URL_SYNTAX_RE.test(raw) || ENCODED_WORD_RE.test(raw)) throw invalid()
  const at = raw.lastIndexOf('@')
  if (at <= 0 || at === raw.length - 1) throw invalid()
  const local = raw.slice(0, at)
  const domainInput = raw.slice(at + 1).replace(/\.$/, '')
  if (local.length > MAX_LOCAL || !LOCAL_RE.test(local)) throw invalid()
  if (!DOMAIN_INPUT_RE.test(domainInput)) throw invalid()
  const domain = domainToASCII(domainInput.toLowerCase())
  if (!domain) throw invalid()
  const labels = domain.split('.')
  if (labels.length < 2 || !labels.every(l => LABEL_RE.test(l)) || !TLD_RE.test(labels[labels.length - 1] ?? '')) {
    throw invalid()
  }
  if (!labels.every(l => !l.startsWith('xn--') || validAceLabel(l))) throw invalid()
  const address = `${local.toLowerCase()}@${domain}`
  if (address.length > MAX_ADDRESS) throw invalid('That email address is too long.')
  return { address }
}
