// Browser uploads: a presigned POST lets the admin page send a PDF straight to S3 (the bytes never
// pass through this service); the server then checks the object before it can become a version.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
import { createHash } from 'node:crypto'
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { createPresignedPost, type PresignedPost, type PresignedPostOptions } from '@aws-sdk/s3-presigned-post'
import { isNotFound } from '../aws/errors.ts'
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts'
import { assertSlug, assertVersion, type Catalog, defaultTitle, DESCRIPTION_MAX, TITLE_MAX, type VersionMeta, versionId, versionKey } from './catalog.ts'
import { attachmentDisposition, cleanFilename } from './content-disposition.ts'

/** A presigned POST is good for this long: enough to start a large upload, short enough to be useless later. */
export const UPLOAD_POST_TTL_SECONDS = 600

export interface UploadTicket {
  slug: string
  version: string
  key: string
  filename: string
  /** where the browser POSTs the form (the bucket's endpoint) */
  url: string
  /** form fields to send before the `file` field, exactly as given */
  fields: Record<string, string>
  expiresAt: string
  maxBytes: number
}

export type Presign = (client: S3Client, options: PresignedPostOptions) => Promise<PresignedPost>

export interface UploadOptions {
  s3: S3Client
  bucket: string
  catalog: Catalog
  maxBytes: number
  ttlSeconds?: number
  now?: () => Date
  /** createPresignedPost, replaceable in tests to see exactly what it is given */
  presign?: Presign
}

export interface VerifyInput {
  filename: string
  title?: string | undefined
  description?: string | undefined
}

export type Uploads = ReturnType<typeof createUploads>

function cleanName (filename: string): string {
  const clean = cleanFilename(filename)
  if (!clean) throw new ValidationError('filename_invalid', 'The file needs a name.', 'filename')
  return clean
}

async function bodyBytes (body: unknown): Promise<Uint8Array> {
  const b = body as { transformToByteArray?: () => Promise<Uint8Array> } | undefined
  if (!b?.transformToByteArray) throw new Error('S3 returned no body')
  return await b.transformToByteArray()
}

export function createUploads (options: UploadOptions) {
  const { s3, bucket, catalog, maxBytes } = options
  const ttlSeconds = options.ttlSeconds ?? UPLOAD_POST_TTL_SECONDS
  const now = options.now ?? (() => new Date())
  // The SDK's own S3Client type may come from a nested copy of the package: same shape, other identity.
  const presign = options.presign ?? (createPresignedPost as unknown as Presign)

  function tooLarge (size: number): ValidationError {
    return new ValidationError('file_too_large', `The file is ${size} bytes; the limit is ${maxBytes} bytes.`, 'file')
  }

  let origin: Promise<string> | undefined

  return {
    maxBytes,

    /** The origin the browser POSTs uploads to (for the admin page's CSP connect-src); signed locally, nothing is sent. */
    postOrigin (): Promise<string> {
      origin ??= presign(s3, { Bucket: bucket, Key: 'whitepapers/origin-probe', Expires: 60 })
        .then(post => new URL(post.url).origin)
        .catch(() => { origin = undefined; return 'https:' })
      return origin
    },

    /** A new version key and the presigned POST that may write exactly that key, once, with a PDF of allowed size. */
    async start (slug: string, input: { filename: string, size: number }): Promise<UploadTicket> {
      assertSlug(slug)
      const filename = cleanName(input.filename)
      if (input.size > maxBytes) throw tooLarge(input.size)
      if (input.size < 5) throw new ValidationError('not_a_pdf', 'The file is too small to be a PDF.', 'file')
      const at = now()
      const version = versionId(at)
      const key = versionKey(slug, version, filename)
      const post = await presign(s3, {
        Bucket: bucket,
        Key: key,
        Conditions: [
          ['content-length-range', 1, maxBytes],
          ['eq', '$Content-Type', 'application/pdf']
        ],
        Fields: {
          'Content-Type': 'application/pdf',
          'Content-Disposition': attachmentDisposition(filename)
        },
        Expires: ttlSeconds
      })
      return {
        slug,
        version,
        key,
        filename,
        url: post.url,
        fields: post.fields,
        expiresAt: new Date(at.getTime() + ttlSeconds * 1000).toISOString(),
        maxBytes
      }
    },

    /**
     * Checks what the browser uploaded (there, within the size limit, starts with `%PDF-`), hashes it,
     * and records the version's meta.json: only then can it be activated.
     */
    async verify (slug: string, version: string, input: VerifyInput): Promise<VersionMeta> {
      assertSlug(slug)
      assertVersion(version)
      const filename = cleanName(input.filename)
      const title = input.title?.trim() || defaultTitle(filename)
      const description = input.description?.trim() ?? ''
      if (title.length > TITLE_MAX) throw new ValidationError('title_invalid', `A title is 1-${TITLE_MAX} characters.`, 'title')
      if (description.length > DESCRIPTION_MAX) throw new ValidationError('description_invalid', `A description is at most ${DESCRIPTION_MAX} characters.`, 'description')
      const key = versionKey(slug, version, filename)

      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch(err => {
        if (isNotFound(err)) throw new NotFoundError('upload_not_found', 'The upload did not reach the bucket. Try uploading again.')
        throw err
      })
      const size = head.ContentLength ?? 0
      if (size > maxBytes) throw tooLarge(size)
      const etag = head.ETag
      const ifMatch = etag ? { IfMatch: etag } : {}
      // The first five bytes decide before anything large is read.
      const first = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-4', ...ifMatch }))
      const magic = Buffer.from(await bodyBytes(first.Body)).toString('latin1')
      if (magic !== '%PDF-') throw new ValidationError('not_a_pdf', 'The uploaded file is not a PDF (it does not start with %PDF-).', 'file')

      // The sha256 goes into the pointer (and so into `show` and the admin page): hash the stored bytes.
      const full = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...ifMatch }))
      const hash = createHash('sha256')
      let read = 0
      for await (const chunk of full.Body as AsyncIterable<Uint8Array>) {
        read += chunk.byteLength
        if (read > maxBytes) throw tooLarge(read)
        hash.update(chunk)
      }
      if (read !== size) throw new ConflictError('upload_changed', 'The file changed while it was being checked. Try uploading again.')
      return await catalog.recordVersion({
        slug,
        version,
        key,
        filename,
        title,
        description,
        size,
        sha256: hash.digest('hex'),
        // When it was checked (milliseconds: S3's Last-Modified has seconds, too coarse to order versions).
        createdAt: now().toISOString(),
        source: 'upload',
        ...(etag ? { etag } : {})
      })
    }
  }
}
