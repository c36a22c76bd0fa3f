// Whitepaper catalog: immutable versions in S3 plus a `current.json` pointer per slug, cached briefly.
import { createHash } from 'node:crypto'
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { isConditionFailed, isNotFound } from '../aws/errors.ts'
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '../errors.ts'
import { attachmentDisposition, cleanFilename, keySafeFilename } from './content-disposition.ts'

export const SLUG_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'
const SLUG_RE = new RegExp(SLUG_PATTERN)
export const DEFAULT_SLUG = 'default'

/** The contents of `whitepapers/<slug>/current.json`. */
export interface WhitepaperPointer {
  slug: string
  version: string
  key: string
  filename: string
  title: string
  description: string
  size: number
  sha256: string
  activatedAt: string
}

export interface PublishInput {
  slug?: string
  bytes: Uint8Array
  filename: string
  title?: string
  description?: string
}

export interface Logger {
  warn: (obj: object, msg: string) => void
}

export interface CatalogOptions {
  s3: S3Client
  bucket: string
  /** how long a pointer read from S3 is trusted before it is read again */
  refreshMs: number
  now?: () => Date
  log?: Logger
}

export type Catalog = ReturnType<typeof createCatalog>

export function assertSlug (slug: string): void {
  if (!SLUG_RE.test(slug)) {
    throw new ValidationError('slug_invalid', 'A slug is 1-64 lowercase letters, digits and dashes.', 'slug')
  }
}

export function pointerKey (slug: string): string {
  return `whitepapers/${slug}/current.json`
}

function versionId (at: Date, sha256: string): string {
  return `${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${sha256.slice(0, 8)}`
}

async function readBody (body: unknown): Promise<string> {
  const b = body as { transformToString?: () => Promise<string> } | undefined
  if (!b?.transformToString) throw new Error('S3 returned no body')
  return await b.transformToString()
}

export function createCatalog (options: CatalogOptions) {
  const { s3, bucket, refreshMs } = options
  const now = options.now ?? (() => new Date())
  const cache = new Map<string, { pointer: WhitepaperPointer | null, fetchedAt: number, pending?: Promise<WhitepaperPointer | null> }>()

  async function readPointer (slug: string): Promise<{ pointer: WhitepaperPointer, etag: string | undefined } | null> {
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: pointerKey(slug) }))
      return { pointer: JSON.parse(await readBody(res.Body)) as WhitepaperPointer, etag: res.ETag }
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
  }

  async function refresh (slug: string): Promise<WhitepaperPointer | null> {
    const entry = cache.get(slug)
    try {
      const found = await readPointer(slug)
      cache.set(slug, { pointer: found?.pointer ?? null, fetchedAt: Date.now() })
      return found?.pointer ?? null
    } catch (err) {
      // S3 hiccup: keep serving what we knew rather than failing every signup.
      if (entry) {
        options.log?.warn({ err, slug }, 'catalog refresh failed; serving the cached pointer')
        cache.set(slug, { pointer: entry.pointer, fetchedAt: Date.now() })
        return entry.pointer
      }
      throw new UnavailableError('The whitepaper catalog is unavailable.', { cause: err })
    }
  }

  return {
    /** The active version of a slug, at most `refreshMs` old; null when nothing is published. */
    async current (slug: string): Promise<WhitepaperPointer | null> {
      const entry = cache.get(slug)
      if (entry && Date.now() - entry.fetchedAt < refreshMs) return entry.pointer
      if (entry?.pending) return await entry.pending
      const pending = refresh(slug)
      cache.set(slug, { pointer: entry?.pointer ?? null, fetchedAt: entry?.fetchedAt ?? 0, pending })
      try {
        return await pending
      } finally {
        const after = cache.get(slug)
        if (after?.pending === pending) cache.set(slug, { pointer: after.pointer, fetchedAt: after.fetchedAt })
      }
    },

    /** Like `current`, but a missing whitepaper is an error. */
    async require (slug: string): Promise<WhitepaperPointer> {
      assertSlug(slug)
      const pointer = await this.current(slug)
      if (!pointer) throw new NotFoundError('whitepaper_not_found', 'There is no whitepaper here.')
      return pointer
    },

    /** Uploads a new immutable version and makes it current. */
    async publish (input: PublishInput): Promise<WhitepaperPointer> {
      const slug = input.slug ?? DEFAULT_SLUG
      assertSlug(slug)
      const bytes = input.bytes
      if (bytes.byteLength < 5 || Buffer.from(bytes.subarray(0, 5)).toString('latin1') !== '%PDF-') {
        throw new ValidationError('not_a_pdf', 'The file is not a PDF (it does not start with %PDF-).', 'file')
      }
      const filename = cleanFilename(input.filename)
      if (!filename) throw new ValidationError('filename_invalid', 'The file needs a name.', 'file')
      const sha256 = createHash('sha256').update(bytes).digest('hex')
      const at = now()
      const version = versionId(at, sha256)
      const key = `whitepapers/${slug}/versions/${version}/${keySafeFilename(filename)}`
      await s3.send(new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: bytes,
        ContentType: 'application/pdf',
        ContentDisposition: attachmentDisposition(filename),
        // Versions are immutable: never overwrite one.
        IfNoneMatch: '*',
        Metadata: { sha256 }
      }))
      const previous = await readPointer(slug)
      const pointer: WhitepaperPointer = {
        slug,
        version,
        key,
        filename,
        title: input.title ?? previous?.pointer.title ?? filename.replace(/\.pdf$/i, ''),
        description: input.description ?? previous?.pointer.description ?? '',
        size: bytes.byteLength,
        sha256,
        activatedAt: at.toISOString()
      }
      try {
        await s3.send(new PutObjectCommand({
          Bucket: bucket,
          Key: pointerKey(slug),
          Body: JSON.stringify(pointer, null, 2),
          ContentType: 'application/json',
          CacheControl: 'no-cache',
          ...(previous?.etag ? { IfMatch: previous.etag } : { IfNoneMatch: '*' })
        }))
      } catch (err) {
        if (isConditionFailed(err)) {
          throw new ConflictError('publish_conflict', `Someone else changed "${slug}" at the same time; version ${version} is uploaded but not active. Try again.`)
        }
        throw err
      }
      cache.set(slug, { pointer, fetchedAt: Date.now() })
      return pointer
    }
  }
}
