// The /admin routes' schemas: requests, answers and the shared parameter shapes (OpenAPI reads them).
import { Type } from 'typebox'
import { ErrorSchema } from '../errors.ts'
import { STATUSES } from '../../subscribers/export.ts'
import { SLUG_PATTERN, VERSION_PATTERN } from '../../whitepapers/keys.ts'
import { DESCRIPTION_MAX, FILENAME_MAX, TITLE_MAX } from '../../whitepapers/model.ts'
import { CSRF_FIELD, CSRF_HEADER } from '../../admin/auth.ts'

export const HtmlSchema = Type.String({ description: 'HTML page' })
export const RedirectSchema = Type.Null({ description: 'redirect (see Location)' })
export const Errors = { '4xx': ErrorSchema, '5xx': ErrorSchema }
export const Tags = ['admin']

export const SlugParams = Type.Object({ slug: Type.String({ pattern: SLUG_PATTERN, description: 'whitepaper slug' }) })
export const VersionParams = Type.Object({
  slug: Type.String({ pattern: SLUG_PATTERN, description: 'whitepaper slug' }),
  version: Type.String({ pattern: VERSION_PATTERN, description: 'version id, e.g. 20260304T050607Z-1a2b3c4d' })
})
export const CsrfBody = Type.Object({
  [CSRF_FIELD]: Type.Optional(Type.String({ maxLength: 128, description: `CSRF token of the session (or the ${CSRF_HEADER} header)` }))
})
const Filename = Type.String({ minLength: 1, maxLength: FILENAME_MAX, description: 'the file\'s name on the marketer\'s computer; the download keeps it, cleaned and always ending in .pdf' })
const Title = Type.String({ maxLength: TITLE_MAX, description: 'title on the landing page and in the email (the file name if empty)' })
const Description = Type.String({ maxLength: DESCRIPTION_MAX, description: 'description on the landing page' })

export const UploadRequestSchema = Type.Object({
  filename: Filename,
  size: Type.Integer({ minimum: 0, description: 'the file\'s size in bytes' }),
  title: Type.Optional(Title),
  description: Type.Optional(Description)
})

export const UploadTicketSchema = Type.Object({
  slug: Type.String({ description: 'whitepaper slug' }),
  version: Type.String({ description: 'the version this upload becomes' }),
  key: Type.String({ description: 'the exact S3 key the POST may write: a staging key under uploads/, never a version\'s' }),
  filename: Type.String({ description: 'the cleaned file name, ending in .pdf: what the download is called' }),
  url: Type.String({ description: 'where to POST the multipart form (the bucket endpoint)' }),
  fields: Type.Record(Type.String(), Type.String(), { description: 'form fields to send, in order, before the file' }),
  expiresAt: Type.String({ description: 'when the presigned POST stops working (ISO 8601)' }),
  maxBytes: Type.Integer({ description: 'largest file the policy accepts' }),
  verifyUrl: Type.String({ description: 'POST here once the upload finished' })
})

export const VerifyRequestSchema = Type.Object({
  filename: Filename,
  title: Type.Optional(Title),
  description: Type.Optional(Description)
})

export const VersionSchema = Type.Object({
  slug: Type.String({ description: 'whitepaper slug' }),
  version: Type.String({ description: 'version id' }),
  filename: Type.String({ description: 'file name of the download' }),
  title: Type.String({ description: 'title' }),
  size: Type.Integer({ description: 'bytes' }),
  sha256: Type.String({ description: 'SHA-256 of the bytes, hex' }),
  activateUrl: Type.String({ description: 'POST here to make this version current' })
})

export const PointerSchema = Type.Object({
  slug: Type.String({ description: 'whitepaper slug' }),
  version: Type.String({ description: 'the current version' }),
  title: Type.String({ description: 'title' }),
  filename: Type.String({ description: 'file name of the download' }),
  size: Type.Integer({ description: 'bytes' }),
  sha256: Type.String({ description: 'SHA-256 of the bytes, hex' }),
  activatedAt: Type.String({ description: 'when it became current (ISO 8601)' })
})

export const Status = Type.Union(STATUSES.map(s => Type.Literal(s)), { description: 'only addresses in this status' })
