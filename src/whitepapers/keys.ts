// Where a whitepaper lives in the bucket, and what a slug and a version may be (both become key parts).
//
//   whitepapers/<slug>/current.json                    the pointer to the active version
//   whitepapers/<slug>/versions/<version>/<file>.pdf   the bytes, written once
//   whitepapers/<slug>/versions/<version>/meta.json    what a pointer needs, written once
import { randomBytes } from 'node:crypto'
import { ValidationError } from '../errors.ts'
import { keySafeFilename } from './content-disposition.ts'

export const WHITEPAPERS_PREFIX = 'whitepapers/'
export const SLUG_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'
export const SLUG_RE = new RegExp(SLUG_PATTERN)
export const DEFAULT_SLUG = 'default'
/** `<UTC timestamp>-<8 hex>`: sorts by time; the suffix is the sha256 prefix (publish) or random (upload). */
export const VERSION_PATTERN = '^\\d{8}T\\d{6}Z-[0-9a-f]{8}$'
export const VERSION_RE = new RegExp(VERSION_PATTERN)

/** The slug becomes part of an S3 key: "../x" would reach outside whitepapers/. */
export function assertSlug (slug: string): void {
  if (!SLUG_RE.test(slug)) {
    throw new ValidationError('slug_invalid', 'A slug is 1-64 lowercase letters, digits and dashes.', 'slug')
  }
}

export function assertVersion (version: string): void {
  if (!VERSION_RE.test(version)) {
    throw new ValidationError('version_invalid', 'A version looks like 20260304T050607Z-1a2b3c4d.', 'version')
  }
}

export function slugPrefix (slug: string): string {
  return `${WHITEPAPERS_PREFIX}${slug}/`
}

export function pointerKey (slug: string): string {
  return `${slugPrefix(slug)}current.json`
}

export function versionsPrefix (slug: string): string {
  return `${slugPrefix(slug)}versions/`
}

export function versionKey (slug: string, version: string, filename: string): string {
  return `${versionsPrefix(slug)}${version}/${keySafeFilename(filename)}`
}

export function metaKey (slug: string, version: string): string {
  return `${versionsPrefix(slug)}${version}/meta.json`
}

export function versionId (at: Date, suffix: string = randomBytes(4).toString('hex')): string {
  return `${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${suffix.slice(0, 8)}`
}

/** The time in a version id, as an ISO string (to order versions without meta.json). */
export function versionTime (version: string): string {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z/.exec(version)
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : ''
}
