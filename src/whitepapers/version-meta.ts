// A version's keys, its file name rule (always a .pdf) and the check of its meta.json on every read.
import type { VersionMeta } from './catalog.ts'
import { ConflictError, ValidationError } from '../errors.ts'
import { cleanFilename, keySafeFilename } from './content-disposition.ts'

export const TITLE_MAX = 200
export const DESCRIPTION_MAX = 1000
/** What a file name may be (the admin form's limit). */
export const FILENAME_MAX = 255
/**
 * The largest version: ADMIN_UPLOAD_MAX_BYTES's own maximum, and the most one CopyObject can copy.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
 */
export const MAX_VERSION_BYTES = 5 * 1024 * 1024 * 1024
/** `%PDF-`: nothing shorter is a PDF. */
export const MIN_PDF_BYTES = 5
const SHA256_RE = /^[0-9a-f]{64}$/
const PDF_NAME_RE = /\.pdf$/i
// What keySafeFilename produces: one path segment, ending in .pdf.
const KEY_NAME_RE = /^[A-Za-z0-9._-]+\.pdf$/i
const SOURCES = new Set(['publish', 'upload', 'legacy'])

export function versionsPrefix (slug: string): string {
  return `whitepapers/${slug}/versions/`
}

export function versionKey (slug: string, version: string, filename: string): string {
  return `${versionsPrefix(slug)}${version}/${keySafeFilename(filename)}`
}

export function metaKey (slug: string, version: string): string {
  return `${versionsPrefix(slug)}${version}/meta.json`
}

/**
 * The name a version's file is stored and downloaded under: the given name cleaned, always ending in
 * `.pdf` (an upload named `meta.json` becomes `meta.json.pdf`, never the version's meta.json), at most
 * FILENAME_MAX characters.
 */
export function pdfFilename (name: string): string {
  const clean = cleanFilename(name)
  if (!clean) throw new ValidationError('filename_invalid', 'The file needs a name.', 'filename')
  const base = [...clean.replace(PDF_NAME_RE, '').trim()].slice(0, FILENAME_MAX - 4).join('').trim()
  return `${base || 'whitepaper'}.pdf`
}

/** The title a version gets when none is given: the file name without `.pdf`, within TITLE_MAX. */
export function defaultTitle (filename: string): string {
  return [...filename.replace(PDF_NAME_RE, '')].slice(0, TITLE_MAX).join('').trim() || 'Whitepaper'
}

export function checkText (title: string | undefined, description: string | undefined): void {
  if (title !== undefined && (title.trim() === '' || title.length > TITLE_MAX)) {
    throw new ValidationError('title_invalid', `A title is 1-${TITLE_MAX} characters.`, 'title')
  }
  if (description !== undefined && description.length > DESCRIPTION_MAX) {
    throw new ValidationError('description_invalid', `A description is at most ${DESCRIPTION_MAX} characters.`, 'description')
  }
}

/** Why a meta.json read from `whitepapers/<slug>/versions/<version>/` does not describe that version, or null. */
function problemOf (raw: unknown, slug: string, version: string): string | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'it is not a JSON object'
  const m = raw as Record<string, unknown>
  if (m.slug !== slug || m.version !== version) return 'its slug or version is not the folder it is in'
  const filename = m.filename
  if (typeof filename !== 'string' || filename.length === 0 || filename.length > FILENAME_MAX || cleanFilename(filename) !== filename || !PDF_NAME_RE.test(filename)) {
    return 'its file name is not a clean .pdf name'
  }
  const key = m.key
  const folder = `${versionsPrefix(slug)}${version}/`
  if (typeof key !== 'string' || !key.startsWith(folder) || !KEY_NAME_RE.test(key.slice(folder.length))) {
    return 'its key is not a .pdf in the version\'s own folder'
  }
  if (typeof m.title !== 'string' || m.title.trim() === '' || m.title.length > TITLE_MAX) return `its title is not 1-${TITLE_MAX} characters`
  if (typeof m.description !== 'string' || m.description.length > DESCRIPTION_MAX) return `its description is over ${DESCRIPTION_MAX} characters`
  if (!Number.isSafeInteger(m.size) || (m.size as number) < MIN_PDF_BYTES || (m.size as number) > MAX_VERSION_BYTES) return 'its size is out of range'
  if (typeof m.sha256 !== 'string' || !SHA256_RE.test(m.sha256)) return 'its sha256 is not 64 hex digits'
  if (typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt))) return 'its creation time is not a date'
  if (typeof m.source !== 'string' || !SOURCES.has(m.source)) return 'its source is unknown'
  if (m.etag !== undefined && (typeof m.etag !== 'string' || m.etag.length === 0 || m.etag.length > 128)) return 'its ETag is malformed'
  // A browser upload is only ever recorded with the ETag of the bytes that were checked.
  if (m.source === 'upload' && m.etag === undefined) return 'it has no ETag'
  return null
}

/**
 * A version's meta.json, checked again on every read: every limit the writers apply, and that it
 * describes its own folder's .pdf. One that fails is treated as never verified.
 */
export function checkVersionMeta (raw: unknown, slug: string, version: string): VersionMeta {
  const problem = problemOf(raw, slug, version)
  if (problem) {
    throw new ConflictError('version_meta_invalid', `Version ${version} of "${slug}" cannot be activated: its meta.json is not valid (${problem}). Upload the file again.`)
  }
  const m = raw as VersionMeta
  return {
    slug: m.slug,
    version: m.version,
    key: m.key,
    filename: m.filename,
    title: m.title,
    description: m.description,
    size: m.size,
    sha256: m.sha256,
    createdAt: m.createdAt,
    source: m.source,
    ...(m.etag !== undefined ? { etag: m.etag } : {})
  }
}
