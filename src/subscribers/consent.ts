// The consent text shown under the form; its hash is the version stored with every signup.
import { createHash } from 'node:crypto'

export const CONSENT_TEXT = 'By submitting this form you agree that we email you the whitepaper and, once you confirm, our newsletter. Unsubscribe at any time with one click.'

/** Changes whenever the wording changes, so every signup proves exactly what was agreed to. */
export const CONSENT_VERSION = `sha256:${createHash('sha256').update(CONSENT_TEXT).digest('hex').slice(0, 16)}`
