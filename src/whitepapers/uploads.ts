// Browser uploads: a presigned POST lets the admin page send a PDF straight to S3 (the bytes never
// pass through this service) into a staging key outside whitepapers/; the server then checks that
// object and copies exactly the bytes it checked into the version's key. A ticket reused afterwards
// can only rewrite the staging object, which no download reads.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
import { systemClock, type Clock } from '../clock.ts'
import { createHash } from 'node:crypto'
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { createPresignedPost, type PresignedPost, type PresignedPostOptions } from '@aws-sdk/s3-presigned-post'
import { httpStatusOf } from '../aws/errors.ts'
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts'
import { isConditionFailed, isNotFound } from '../storage/errors.ts'
import type { Catalog } from './catalog.ts'
import { attachmentDisposition } from './content-disposition.ts'
import { assertSlug, assertVersion, versionId, versionKey } from './keys.ts'
import { MIN_PDF_BYTES, type VersionMeta } from './model.ts'
import { checkText, defaultTitle, pdfFilename } from './version-meta.ts'

/** A presigned POST is good for this long: enough to start a large upload, short enough to be useless later. */
export const UPLOAD_POST_TTL_SECONDS = 600

/** Where browser uploads land before their check; a lifecycle rule may expire what is left (README). */
export const UPLOADS_PREFIX = 'uploads/'

export function stagingKey (slug: string, version: string): string {
  return `${UPLOADS_PREFIX}${slug}/${version}/upload.pdf`
}

export interface UploadTicket {
  slug: string
  version: string
  /** the staging key the POST may write (never a version's key) */
  key: string
  /** the cleaned file name, always ending in .pdf: what the download will be called */
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
  now?: Clock
  /** createPresignedPost, replaceable in tests to see exactly what it is given */
  presign?: Presign
}

export interface VerifyInput {
  filename: string
  title?: string | undefined
  description?: string | undefined
}

export type Uploads = ReturnType<typeof createUploads>

async function bodyBytes (body: unknown): Promise<Uint8Array> {
  const b = body as { transformToByteArray?: () => Promise<Uint8Array> } | undefined
  if (!b?.transformToByteArray) throw new Error('S3 returned no body')
  return await b.transformToByteArray()
}

interface Checked { etag: string, size: number, sha256: string }

function changed (): ConflictError {
  return new ConflictError('upload_changed', 'The file changed while it was being checked. Try uploading again.')
}

export function createUploads (options: UploadOptions) {
  const { s3, bucket, catalog, maxBytes } = options
  const ttlSeconds = options.ttlSeconds ?? UPLOAD_POST_TTL_SECONDS
  const clock = options.now ?? systemClock
  const now = () => new Date(clock())
  // The SDK's own S3Client type may come from a nested copy of the package: same shape, other identity.
  const presign = options.presign ?? (createPresignedPost as unknown as Presign)

  function tooLarge (size: number): ValidationError {
    return new ValidationError('file_too_large', `The file is ${size} bytes; the limit is ${maxBytes} bytes.`, 'file')
  }

  /** GET with If-Match on the ETag read: a 412 means the staging object was replaced meanwhile. */
  async function get (key: string, etag: string, range?: string) {
    return await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag, ...(range ? { Range: range } : {}) })).catch(err => {
      if (isConditionFailed(err)) throw changed()
      throw err
    })
  }

  /** Reads the staging object as it is now: its ETag, size, `%PDF-` start and sha256, all of one same object. */
  async function check (key: string): Promise<Checked> {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch(err => {
      if (isNotFound(err)) throw new NotFoundError('upload_not_found', 'The upload did not reach the bucket. Try uploading again.')
      throw err
    })
    const size = head.ContentLength ?? 0
    const etag = head.ETag
    if (!etag) throw new Error('S3 answered HEAD without an ETag')
    if (size > maxBytes) throw tooLarge(size)
    if (size < MIN_PDF_BYTES) throw new ValidationError('not_a_pdf', 'The uploaded file is too small to be a PDF.', 'file')
    // The first five bytes decide before anything large is read.
    const first = await get(key, etag, `bytes=0-${MIN_PDF_BYTES - 1}`)
    const magic = Buffer.from(await bodyBytes(first.Body)).toString('latin1')
    if (magic !== '%PDF-') throw new ValidationError('not_a_pdf', 'The uploaded file is not a PDF (it does not start with %PDF-).', 'file')
    // The sha256 goes into the pointer (and so into `show` and the admin page): hash the stored bytes.
    const full = await get(key, etag)
    const hash = createHash('sha256')
    let read = 0
    for await (const chunk of full.Body as AsyncIterable<Uint8Array>) {
      read += chunk.byteLength
      if (read > maxBytes) throw tooLarge(read)
      hash.update(chunk)
    }
    if (read !== size) throw changed()
    return { etag, size, sha256: hash.digest('hex') }
  }

  /** The version key's object as it is now, or null. */
  async function existing (key: string) {
    return await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch(err => {
      if (isNotFound(err)) return null
      throw err
    })
  }

  async function copy (from: string, to: string, filename: string, checked: Checked, onlyIfAbsent: boolean): Promise<string> {
    const res = await s3.send(new CopyObjectCommand({
      Bucket: bucket,
      Key: to,
      CopySource: `${bucket}/${from}`,
      CopySourceIfMatch: checked.etag,
      ...(onlyIfAbsent ? { IfNoneMatch: '*' } : {}),
      // The download's headers are the server's, not whatever the POST carried.
      MetadataDirective: 'REPLACE',
      ContentType: 'application/pdf',
      ContentDisposition: attachmentDisposition(filename),
      Metadata: { sha256: checked.sha256 }
    }))
    const etag = res.CopyObjectResult?.ETag
    if (!etag) throw new Error('S3 answered CopyObject without an ETag')
    return etag
  }

  /**
   * Copies the checked staging object into the version key: only if it still has the ETag that was
   * hashed (x-amz-copy-source-if-match) and the version key is free (If-None-Match: *). Answers the
   * copy's ETag. https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
   */
  async function promote (from: string, to: string, filename: string, checked: Checked): Promise<string> {
    try {
      return await copy(from, to, filename, checked, true).catch(async err => {
        // A store that has no conditional copy (501): the version id is new and random, nothing else
        // writes under whitepapers/, and the source condition still binds the bytes to the ones hashed.
        if (httpStatusOf(err) !== 501 || await existing(to)) throw err
        return await copy(from, to, filename, checked, false)
      })
    } catch (err) {
      if (!isConditionFailed(err)) throw err
      // Either the version key exists (a retry after the copy, or other bytes) or the staging object changed.
      const there = await existing(to)
      if (!there) throw changed()
      if (there.ETag && there.Metadata?.sha256 === checked.sha256 && there.ContentLength === checked.size) return there.ETag
      throw new ConflictError('version_exists', 'This version already holds other bytes. Upload the file again.')
    }
  }

  /** Best effort: what is left is harmless (nothing reads uploads/) and a lifecycle rule may expire it. */
  async function discard (key: string): Promise<void> {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined)
  }

  let origin: Promise<string> | undefined

  return {
    maxBytes,

    /** The origin the browser POSTs uploads to (for the admin page's CSP connect-src); signed locally, nothing is sent. */
    postOrigin (): Promise<string> {
      origin ??= presign(s3, { Bucket: bucket, Key: `${UPLOADS_PREFIX}origin-probe`, Expires: 60 })
        .then(post => new URL(post.url).origin)
        .catch(() => { origin = undefined; return 'https:' })
      return origin
    },

    /** A new version id and the presigned POST that may write exactly its staging key, with a PDF of allowed size. */
    async start (slug: string, input: { filename: string, size: number }): Promise<UploadTicket> {
      assertSlug(slug)
      const filename = pdfFilename(input.filename)
      if (input.size > maxBytes) throw tooLarge(input.size)
      if (input.size < MIN_PDF_BYTES) throw new ValidationError('not_a_pdf', 'The file is too small to be a PDF.', 'file')
      const at = now()
      const version = versionId(at)
      const key = stagingKey(slug, version)
      const post = await presign(s3, {
        Bucket: bucket,
        Key: key,
        Conditions: [
          ['content-length-range', 1, maxBytes],
          ['eq', '$Content-Type', 'application/pdf']
        ],
        Fields: { 'Content-Type': 'application/pdf' },
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
     * copies exactly those bytes into the version key and records meta.json: only then can it be
     * activated. Checking a recorded version again answers what was recorded.
     */
    async verify (slug: string, version: string, input: VerifyInput): Promise<VersionMeta> {
      assertSlug(slug)
      assertVersion(version)
      const filename = pdfFilename(input.filename)
      const title = input.title?.trim() || defaultTitle(filename)
      const description = input.description?.trim() ?? ''
      checkText(title, description)
      const staging = stagingKey(slug, version)

      const existing = await catalog.recorded(slug, version)
      if (existing) {
        await discard(staging)
        return existing
      }
      let checked: Checked
      try {
        checked = await check(staging)
      } catch (err) {
        // Bytes that failed the check are of no use to anyone.
        if (err instanceof ValidationError) await discard(staging)
        throw err
      }
      const key = versionKey(slug, version, filename)
      const etag = await promote(staging, key, filename, checked)
      const meta = await catalog.recordVersion({
        slug,
        version,
        key,
        filename,
        title,
        description,
        size: checked.size,
        sha256: checked.sha256,
        // When it was checked (milliseconds: S3's Last-Modified has seconds, too coarse to order versions).
        createdAt: now().toISOString(),
        source: 'upload',
        etag
      })
      await discard(staging)
      return meta
    }
  }
}
