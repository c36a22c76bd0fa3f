// A whitepaper's records in S3 as TypeBox schemas (types derived from them, every read checked):
// the pointer (whitepapers/<slug>/current.json) and a version's meta.json, with the limits writers apply.
import { Type, type Static } from 'typebox'

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

const pointerFields = {
  slug: Type.String(),
  version: Type.String(),
  /** the PDF's key in the bucket */
  key: Type.String(),
  /** what the download is called */
  filename: Type.String(),
  title: Type.String(),
  description: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  sha256: Type.String()
}

/** The contents of `whitepapers/<slug>/current.json`. */
export const WhitepaperPointerSchema = Type.Object({
  ...pointerFields,
  activatedAt: Type.String()
})
export type WhitepaperPointer = Static<typeof WhitepaperPointerSchema>

/**
 * The contents of `whitepapers/<slug>/versions/<version>/meta.json`: enough to rebuild a pointer,
 * within every limit the writers apply. What the schema cannot say (that it describes its own folder)
 * is checked on top of it by checkVersionMeta (version-meta.ts).
 */
export const VersionMetaSchema = Type.Object({
  ...pointerFields,
  filename: Type.String({ minLength: 1, maxLength: FILENAME_MAX }),
  title: Type.String({ minLength: 1, maxLength: TITLE_MAX }),
  description: Type.String({ maxLength: DESCRIPTION_MAX }),
  size: Type.Integer({ minimum: MIN_PDF_BYTES, maximum: MAX_VERSION_BYTES }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  createdAt: Type.String(),
  /** publish: uploaded by the CLI or the server; upload: a browser upload checked by /admin; legacy: published before meta.json existed */
  source: Type.Union([Type.Literal('publish'), Type.Literal('upload'), Type.Literal('legacy')]),
  /** the object's ETag when its bytes were checked: activation refuses an object that changed since */
  etag: Type.Optional(Type.String({ minLength: 1, maxLength: 128 }))
})
export type VersionMeta = Static<typeof VersionMetaSchema>

/** One version as the catalog lists it (never stored). */
export interface VersionInfo {
  version: string
  /** ready: can be activated; unverified: bytes that never passed the PDF check (a failed or abandoned upload) */
  state: 'ready' | 'unverified'
  current: boolean
  key?: string
  size?: number
  meta?: VersionMeta
}
