// Whitepaper catalog: immutable versions in S3 plus a `current.json` pointer per slug, cached briefly.
//
//   whitepapers/<slug>/versions/<version>/<file>.pdf   the bytes, written once (If-None-Match: *)
//   whitepapers/<slug>/versions/<version>/meta.json    what a pointer needs (title, file name, size,
//                                                      sha256, ETag), written once when the bytes are
//                                                      known good; `list` and `activate` read it and
//                                                      check it again (version-meta.ts)
//   whitepapers/<slug>/current.json                    the pointer, switched with If-Match
import { createHash, randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { isConditionFailed, isNotFound } from '../aws/errors.ts'
import { mapAll } from '../bounded-map.ts'
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '../errors.ts'
import { attachmentDisposition } from './content-disposition.ts'
import { checkText, checkVersionMeta, defaultTitle, metaKey, pdfFilename, versionKey, versionsPrefix } from './version-meta.ts'

export { checkText, defaultTitle, DESCRIPTION_MAX, metaKey, pdfFilename, TITLE_MAX, versionKey, versionsPrefix } from './version-meta.ts'

export const SLUG_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'
const SLUG_RE = new RegExp(SLUG_PATTERN)
export const DEFAULT_SLUG = 'default'
/** `<UTC timestamp>-<8 hex>`: sorts by time; the suffix is the sha256 prefix (publish) or random (upload). */
export const VERSION_PATTERN = '^\\d{8}T\\d{6}Z-[0-9a-f]{8}$'
const VERSION_RE = new RegExp(VERSION_PATTERN)

// Multipart parts for large files: 8 MiB (S3's minimum is 5 MiB), four in flight.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
export const PART_SIZE = 8 * 1024 * 1024
const UPLOAD_QUEUE = 4

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

/** The contents of `whitepapers/<slug>/versions/<version>/meta.json`: enough to rebuild a pointer. */
export interface VersionMeta extends Omit<WhitepaperPointer, 'activatedAt'> {
  createdAt: string
  /** publish: uploaded by the CLI or the server; upload: a browser upload checked by /admin; legacy: published before meta.json existed */
  source: 'publish' | 'upload' | 'legacy'
  /** the object's ETag when its bytes were checked: activation refuses an object that changed since */
  etag?: string
}

/** One version as the catalog lists it. */
export interface VersionInfo {
  version: string
  /** ready: can be activated; unverified: bytes that never passed the PDF check (a failed or abandoned upload) */
  state: 'ready' | 'unverified'
  current: boolean
  key?: string
  size?: number
  meta?: VersionMeta
}

/** The bytes of a PDF, held in memory or streamed from a file. */
export interface PdfSource {
  size: number
  sha256: string
  /** the first bytes (at least 5 when the file has them), for the `%PDF-` check */
  head: Uint8Array
  /** the bytes, or a new stream of them */
  body: () => Uint8Array | Readable
}

export interface PublishInput {
  slug?: string
  /** the file in memory (or give `source`) */
  bytes?: Uint8Array
  source?: PdfSource
  filename: string
  title?: string
  description?: string
  /** refuse files larger than this */
  maxBytes?: number
  onProgress?: (loaded: number, total: number) => void
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

export function assertVersion (version: string): void {
  if (!VERSION_RE.test(version)) {
    throw new ValidationError('version_invalid', 'A version looks like 20260304T050607Z-1a2b3c4d.', 'version')
  }
}

export function pointerKey (slug: string): string {
  return `whitepapers/${slug}/current.json`
}

export function versionId (at: Date, suffix: string = randomBytes(4).toString('hex')): string {
  return `${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${suffix.slice(0, 8)}`
}

/** The time in a version id, as an ISO string (to order versions without meta.json). */
function versionTime (version: string): string {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z/.exec(version)
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : ''
}

export function isPdfHead (head: Uint8Array): boolean {
  return head.byteLength >= 5 && Buffer.from(head.subarray(0, 5)).toString('latin1') === '%PDF-'
}

export function pdfFromBytes (bytes: Uint8Array): PdfSource {
  return {
    size: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    head: bytes.subarray(0, 5),
    body: () => bytes
  }
}

async function readBody (body: unknown): Promise<string> {
  const b = body as { transformToString?: () => Promise<string> } | undefined
  if (!b?.transformToString) throw new Error('S3 returned no body')
  return await b.transformToString()
}

/** The real file name from a stored Content-Disposition (RFC 6266), for versions without meta.json. */
function filenameFromDisposition (value: string | undefined): string | undefined {
  if (!value) return undefined
  const star = /filename\*=UTF-8''([^;]+)/i.exec(value)
  if (star?.[1]) {
    try { return decodeURIComponent(star[1]) } catch {}
  }
  return /filename="([^"]*)"/i.exec(value)?.[1]
}

function pointerFrom (meta: VersionMeta, activatedAt: string): WhitepaperPointer {
  return {
    slug: meta.slug,
    version: meta.version,
    key: meta.key,
    filename: meta.filename,
    title: meta.title,
    description: meta.description,
    size: meta.size,
    sha256: meta.sha256,
    activatedAt
  }
}

export function createCatalog (options: CatalogOptions) {
  const { s3, bucket, refreshMs } = options
  const now = options.now ?? (() => new Date())
  const cache = new Map<string, { pointer: WhitepaperPointer | null, fetchedAt: number, pending?: Promise<WhitepaperPointer | null> }>()

  async function readJson<T> (key: string): Promise<{ value: T, etag: string | undefined } | null> {
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      return { value: JSON.parse(await readBody(res.Body)) as T, etag: res.ETag }
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
  }

  async function readPointer (slug: string): Promise<{ pointer: WhitepaperPointer, etag: string | undefined } | null> {
    const found = await readJson<WhitepaperPointer>(pointerKey(slug))
    return found ? { pointer: found.value, etag: found.etag } : null
  }

  async function refresh (slug: string): Promise<WhitepaperPointer | null> {
    const entry = cache.get(slug)
    try {
      const found = await readPointer(slug)
      // Unknown slugs are remembered too (one read per refresh, not per request), within a bound.
      if (cache.size > 1000 && !cache.has(slug)) cache.clear()
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

  /** A version's meta.json, checked (ConflictError version_meta_invalid when it fails); null when there is none. */
  async function recorded (slug: string, version: string): Promise<VersionMeta | null> {
    const found = await readJson<unknown>(metaKey(slug, version))
    return found ? checkVersionMeta(found.value, slug, version) : null
  }

  /** Writes meta.json once; a second write of the same bytes is harmless, of other bytes a conflict. */
  async function recordVersion (meta: VersionMeta): Promise<VersionMeta> {
    try {
      await s3.send(new PutObjectCommand({
        Bucket: bucket,
        Key: metaKey(meta.slug, meta.version),
        Body: JSON.stringify(meta, null, 2),
        ContentType: 'application/json',
        IfNoneMatch: '*'
      }))
      return meta
    } catch (err) {
      if (!isConditionFailed(err)) throw err
      const existing = await recorded(meta.slug, meta.version)
      if (existing && existing.key === meta.key && existing.sha256 === meta.sha256) return existing
      throw new ConflictError('version_exists', `Version ${meta.version} of "${meta.slug}" is already recorded with other bytes.`)
    }
  }

  /** Switches current.json to `meta`: If-Match on the pointer as read, or If-None-Match for the first one. */
  async function switchPointer (meta: VersionMeta, previous: { etag: string | undefined } | null, conflictCode: string, conflictMessage: string): Promise<WhitepaperPointer> {
    const pointer = pointerFrom(meta, now().toISOString())
    try {
      await s3.send(new PutObjectCommand({
        Bucket: bucket,
        Key: pointerKey(meta.slug),
        Body: JSON.stringify(pointer, null, 2),
        ContentType: 'application/json',
        CacheControl: 'no-cache',
        ...(previous?.etag ? { IfMatch: previous.etag } : { IfNoneMatch: '*' })
      }))
    } catch (err) {
      if (isConditionFailed(err)) throw new ConflictError(conflictCode, conflictMessage)
      throw err
    }
    cache.set(meta.slug, { pointer, fetchedAt: Date.now() })
    return pointer
  }

  interface ListedVersion { version: string, pdfKey?: string, size?: number, hasMeta: boolean }

  async function listVersionObjects (slug: string, only?: string): Promise<ListedVersion[]> {
    const prefix = only ? `${versionsPrefix(slug)}${only}/` : versionsPrefix(slug)
    const found = new Map<string, ListedVersion>()
    let token: string | undefined
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
      for (const object of page.Contents ?? []) {
        const [version, name] = (object.Key ?? '').slice(versionsPrefix(slug).length).split('/')
        if (!version || !name || !VERSION_RE.test(version)) continue
        const entry = found.get(version) ?? { version, hasMeta: false }
        if (name === 'meta.json') entry.hasMeta = true
        else if (/\.pdf$/i.test(name)) { entry.pdfKey = object.Key; entry.size = object.Size }
        found.set(version, entry)
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return [...found.values()].sort((a, b) => b.version.localeCompare(a.version))
  }

  /** A version's meta.json; for versions published before it existed, rebuilt from the object itself. */
  async function versionMeta (slug: string, listed: ListedVersion, currentPointer: () => Promise<WhitepaperPointer | null>): Promise<VersionMeta | null> {
    // Read only from the version's own folder, and checked: a meta.json is trusted for nothing it does not prove.
    if (listed.hasMeta) return await recorded(slug, listed.version)
    if (!listed.pdfKey) return null
    const pointer = await currentPointer()
    if (pointer?.version === listed.version) {
      const { activatedAt, ...fields } = pointer
      return { ...fields, createdAt: activatedAt, source: 'legacy' }
    }
    // Only publish (which checks the bytes) set x-amz-meta-sha256; a browser upload never verified did not.
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: listed.pdfKey })).catch(err => {
      if (isNotFound(err)) return null
      throw err
    })
    const sha256 = head?.Metadata?.sha256
    if (!head || !sha256) return null
    const filename = filenameFromDisposition(head.ContentDisposition) ?? listed.pdfKey.split('/').pop() ?? 'whitepaper.pdf'
    return {
      slug,
      version: listed.version,
      key: listed.pdfKey,
      filename,
      title: pointer?.title ?? defaultTitle(filename),
      description: pointer?.description ?? '',
      size: head.ContentLength ?? listed.size ?? 0,
      sha256,
      createdAt: (head.LastModified ?? now()).toISOString(),
      source: 'legacy',
      ...(head.ETag ? { etag: head.ETag } : {})
    }
  }

  async function uploadBytes (key: string, source: PdfSource, filename: string, onProgress?: (loaded: number, total: number) => void): Promise<string | undefined> {
    const common = {
      Bucket: bucket,
      Key: key,
      ContentType: 'application/pdf',
      ContentDisposition: attachmentDisposition(filename),
      // Versions are immutable: never overwrite one.
      IfNoneMatch: '*',
      Metadata: { sha256: source.sha256 }
    }
    const body = source.body()
    if (body instanceof Uint8Array) {
      const res = await s3.send(new PutObjectCommand({ ...common, Body: body }))
      onProgress?.(source.size, source.size)
      return res.ETag
    }
    // Large files stream in parts (one PUT when they fit in one part); memory stays at a few parts.
    const { Upload } = await import('@aws-sdk/lib-storage')
    const upload = new Upload({
      client: s3,
      params: { ...common, Body: body, ContentLength: source.size },
      partSize: PART_SIZE,
      queueSize: UPLOAD_QUEUE,
      leavePartsOnError: false
    })
    if (onProgress) upload.on('httpUploadProgress', p => onProgress(p.loaded ?? 0, p.total ?? source.size))
    const res = await upload.done()
    return res.ETag
  }

  return {
    /** The active version of a slug, at most `refreshMs` old; null when nothing is published. */
    async current (slug: string): Promise<WhitepaperPointer | null> {
      // The slug becomes part of an S3 key: "../x" would read outside whitepapers/.
      assertSlug(slug)
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

    /** The pointer as it is in S3 now (no cache): for the admin page and the CLI. */
    async read (slug: string): Promise<WhitepaperPointer | null> {
      assertSlug(slug)
      return (await readPointer(slug))?.pointer ?? null
    },

    /** Every slug that has anything stored (ListObjectsV2 with a delimiter: one entry per slug). */
    async slugs (): Promise<string[]> {
      const out: string[] = []
      let token: string | undefined
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'whitepapers/', Delimiter: '/', ContinuationToken: token }))
        for (const p of page.CommonPrefixes ?? []) {
          const slug = (p.Prefix ?? '').slice('whitepapers/'.length).replace(/\/$/, '')
          if (SLUG_RE.test(slug)) out.push(slug)
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
      return out.sort()
    },

    /** Every slug with its current pointer (null: versions uploaded, none active yet). */
    async overview (): Promise<Array<{ slug: string, pointer: WhitepaperPointer | null }>> {
      const slugs = await this.slugs()
      return await mapAll(slugs, 8, async slug => ({ slug, pointer: (await readPointer(slug))?.pointer ?? null }))
    },

    /** The versions of a slug, newest first. */
    async versions (slug: string): Promise<VersionInfo[]> {
      assertSlug(slug)
      const [listed, pointer] = await Promise.all([listVersionObjects(slug), readPointer(slug)])
      const versions = await mapAll(listed, 8, async entry => {
        const meta = await versionMeta(slug, entry, async () => pointer?.pointer ?? null).catch(err => {
          if (!(err instanceof ConflictError) || err.code !== 'version_meta_invalid') throw err
          options.log?.warn({ slug, version: entry.version, code: err.code }, 'a version\'s meta.json failed its check; listed as unverified')
          return null
        })
        return {
          version: entry.version,
          state: meta ? 'ready' as const : 'unverified' as const,
          current: pointer?.pointer.version === entry.version,
          ...(entry.pdfKey ? { key: entry.pdfKey } : {}),
          ...(entry.size !== undefined ? { size: entry.size } : {}),
          ...(meta ? { meta } : {})
        }
      })
      // Ids have one-second resolution; meta.json's createdAt orders two versions of the same second.
      const at = (v: VersionInfo) => v.meta?.createdAt ?? versionTime(v.version)
      return versions.sort((a, b) => at(b).localeCompare(at(a)) || b.version.localeCompare(a.version))
    },

    /** One version's metadata; unknown or never-verified versions are a 404. */
    async version (slug: string, version: string): Promise<VersionMeta> {
      assertSlug(slug)
      assertVersion(version)
      const [listed] = await listVersionObjects(slug, version)
      if (!listed) {
        // With a delimiter this is one short page: current.json and the versions/ prefix, if any.
        const any = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `whitepapers/${slug}/`, Delimiter: '/' }))
        if ((any.Contents ?? []).length === 0 && (any.CommonPrefixes ?? []).length === 0) throw new NotFoundError('whitepaper_not_found', `There is no whitepaper "${slug}".`)
        throw new NotFoundError('version_not_found', `"${slug}" has no version ${version}.`)
      }
      const meta = await versionMeta(slug, listed, async () => (await readPointer(slug))?.pointer ?? null)
      if (!meta) throw new ConflictError('version_unverified', `Version ${version} of "${slug}" was uploaded but never passed the PDF check; upload it again.`)
      return meta
    },

    recorded,

    recordVersion,

    /** Makes an existing version current (a rollback is activating an older one). */
    async activate (slug: string, version: string): Promise<WhitepaperPointer> {
      const meta = await this.version(slug, version)
      // The bytes must still be the ones that were checked.
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: meta.key })).catch(err => {
        if (isNotFound(err)) throw new NotFoundError('version_not_found', `The file of version ${version} is missing from the bucket.`)
        throw err
      })
      if ((meta.etag && head.ETag && head.ETag !== meta.etag) || (head.ContentLength !== undefined && head.ContentLength !== meta.size)) {
        throw new ConflictError('version_changed', `The file of version ${version} changed after it was checked; upload it again.`)
      }
      const current = await readPointer(slug)
      if (current?.pointer.version === version) {
        cache.set(slug, { pointer: current.pointer, fetchedAt: Date.now() })
        return current.pointer
      }
      return await switchPointer(meta, current, 'activate_conflict', `Someone else changed "${slug}" at the same time; version ${version} is not active. Try again.`)
    },

    /** Uploads a new immutable version, records its metadata and makes it current. */
    async publish (input: PublishInput): Promise<WhitepaperPointer> {
      const slug = input.slug ?? DEFAULT_SLUG
      assertSlug(slug)
      const source = input.source ?? (input.bytes ? pdfFromBytes(input.bytes) : undefined)
      if (!source) throw new ValidationError('file_missing', 'Give the PDF to publish.', 'file')
      if (!isPdfHead(source.head)) {
        throw new ValidationError('not_a_pdf', 'The file is not a PDF (it does not start with %PDF-).', 'file')
      }
      if (input.maxBytes !== undefined && source.size > input.maxBytes) {
        throw new ValidationError('file_too_large', `The file is ${source.size} bytes; the limit is ${input.maxBytes} bytes (ADMIN_UPLOAD_MAX_BYTES).`, 'file')
      }
      const filename = pdfFilename(input.filename)
      checkText(input.title, input.description)
      const at = now()
      const version = versionId(at, source.sha256)
      const key = versionKey(slug, version, filename)
      const etag = await uploadBytes(key, source, filename, input.onProgress)
      const previous = await readPointer(slug)
      const meta = await recordVersion({
        slug,
        version,
        key,
        filename,
        title: input.title ?? previous?.pointer.title ?? defaultTitle(filename),
        description: input.description ?? previous?.pointer.description ?? '',
        size: source.size,
        sha256: source.sha256,
        createdAt: at.toISOString(),
        source: 'publish',
        ...(etag ? { etag } : {})
      })
      return await switchPointer(meta, previous, 'publish_conflict',
        `Someone else changed "${slug}" at the same time; version ${version} is uploaded but not active. Activate it with: npm run whitepaper -- activate ${version} --slug ${slug}`)
    }
  }
}
