// A version's file name rule (always a .pdf), the checks of a title and description, and what a
// meta.json must prove beyond its schema (model.ts): that it describes its own folder.
import { ConflictError, ValidationError } from '../errors.ts'
import { cleanFilename } from './content-disposition.ts'
import { versionsPrefix } from './keys.ts'
import { DESCRIPTION_MAX, FILENAME_MAX, TITLE_MAX, type VersionMeta } from './model.ts'

const PDF_NAME_RE = /\.pdf$/i
// What keySafeFilename produces: one path segment, ending in .pdf.
const KEY_NAME_RE = /^[A-Za-z0-9._-]+\.pdf$/i

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

/** A meta.json that cannot be trusted: its version is treated as never verified. */
export function metaInvalid (slug: string, version: string, problem: string): ConflictError {
  return new ConflictError('version_meta_invalid', `Version ${version} of "${slug}" cannot be activated: its meta.json is not valid (${problem}). Upload the file again.`)
}

/** Why a meta.json read from `whitepapers/<slug>/versions/<version>/` does not describe that version, or null. */
function problemOf (m: VersionMeta, slug: string, version: string): string | null {
  if (m.slug !== slug || m.version !== version) return 'its slug or version is not the folder it is in'
  if (cleanFilename(m.filename) !== m.filename || !PDF_NAME_RE.test(m.filename)) return 'its file name is not a clean .pdf name'
  const folder = `${versionsPrefix(slug)}${version}/`
  if (!m.key.startsWith(folder) || !KEY_NAME_RE.test(m.key.slice(folder.length))) return 'its key is not a .pdf in the version\'s own folder'
  if (m.title.trim() === '') return 'its title is blank'
  if (Number.isNaN(Date.parse(m.createdAt))) return 'its creation time is not a date'
  // A browser upload is only ever recorded with the ETag of the bytes that were checked.
  if (m.source === 'upload' && m.etag === undefined) return 'it has no ETag'
  return null
}

/**
 * A version's meta.json that matched its schema, checked again for what the schema cannot say (that
 * it describes its own folder's .pdf); fields beyond the schema's are dropped. One that fails is a
 * ConflictError `version_meta_invalid`.
 */
export function checkVersionMeta (m: VersionMeta, slug: string, version: string): VersionMeta {
  const problem = problemOf(m, slug, version)
  if (problem) throw metaInvalid(slug, version, problem)
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
