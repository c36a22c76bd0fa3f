// Whitepaper catalog: immutable versions in S3 plus a `current.json` pointer per slug, cached briefly
// (key layout in keys.ts). A version's meta.json is written once when its bytes are known good, and
// checked again on every read (model.ts, version-meta.ts); the pointer is switched with If-Match.
import { systemClock, type Clock } from '../clock.ts'
import type { S3Client } from '@aws-sdk/client-s3'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { mapAll } from '../concurrency.ts'
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts'
import { isNotFound } from '../storage/errors.ts'
import { createJsonStore, InvalidRecord, type Stored, WriteConflict } from '../storage/json-store.ts'
import { assertSlug, assertVersion, DEFAULT_SLUG, metaKey, pointerKey, SLUG_RE, slugPrefix, VERSION_RE, versionId, versionKey, versionsPrefix, versionTime, WHITEPAPERS_PREFIX } from './keys.ts'
import { legacyMeta } from './legacy.ts'
import { type VersionInfo, type VersionMeta, VersionMetaSchema, type WhitepaperPointer, WhitepaperPointerSchema } from './model.ts'
import { isPdfHead, type PdfSource, pdfFromBytes } from './pdf.ts'
import { createPointerCache } from './pointer-cache.ts'
import { type OnProgress, uploadBytes } from './upload-bytes.ts'
import { checkText, checkVersionMeta, defaultTitle, metaInvalid, pdfFilename } from './version-meta.ts'

export type { VersionInfo, VersionMeta, WhitepaperPointer } from './model.ts'

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
  onProgress?: OnProgress
}

export interface Logger {
  warn: (obj: object, msg: string) => void
}

export interface CatalogOptions {
  s3: S3Client
  bucket: string
  /** how long a pointer read from S3 is trusted before it is read again */
  refreshMs: number
  now?: Clock
  log?: Logger
}

export type Catalog = ReturnType<typeof createCatalog>

/** A whitepaper that must exist (a page, a signup): none published is a 404. */
export function found (pointer: WhitepaperPointer | null): WhitepaperPointer {
  if (!pointer) throw new NotFoundError('whitepaper_not_found', 'There is no whitepaper here.')
  return pointer
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

interface ListedVersion { version: string, pdfKey?: string, size?: number, hasMeta: boolean }

export function createCatalog (options: CatalogOptions) {
  const { s3, bucket } = options
  const clock = options.now ?? systemClock
  const now = () => new Date(clock())
  const json = createJsonStore(options)

  /** The pointer as it is in S3 now, with its ETag: the one read of current.json. */
  const readPointer = (slug: string): Promise<Stored<WhitepaperPointer> | null> => json.get(pointerKey(slug), WhitepaperPointerSchema)
  const cache = createPointerCache({ refreshMs: options.refreshMs, read: async slug => (await readPointer(slug))?.value ?? null, ...(options.log ? { log: options.log } : {}) })

  /** A version's meta.json, checked (ConflictError version_meta_invalid when it fails); null when there is none. */
  async function recorded (slug: string, version: string): Promise<VersionMeta | null> {
    let stored: Stored<VersionMeta> | null
    try {
      stored = await json.get(metaKey(slug, version), VersionMetaSchema)
    } catch (err) {
      if (err instanceof InvalidRecord) throw metaInvalid(slug, version, err.problem)
      throw err
    }
    return stored ? checkVersionMeta(stored.value, slug, version) : null
  }

  /** Writes meta.json once; a second write of the same bytes is harmless, of other bytes a conflict. */
  async function recordVersion (meta: VersionMeta): Promise<VersionMeta> {
    try {
      await json.put(metaKey(meta.slug, meta.version), meta, { ifNoneMatch: '*', pretty: true })
      return meta
    } catch (err) {
      if (!(err instanceof WriteConflict)) throw err
      const existing = await recorded(meta.slug, meta.version)
      if (existing && existing.key === meta.key && existing.sha256 === meta.sha256) return existing
      throw new ConflictError('version_exists', `Version ${meta.version} of "${meta.slug}" is already recorded with other bytes.`)
    }
  }

  /** Switches current.json to `meta`: If-Match on the pointer as read, or If-None-Match for the first one. */
  async function switchPointer (meta: VersionMeta, previous: { etag: string } | null, conflictCode: string, conflictMessage: string): Promise<WhitepaperPointer> {
    const pointer = pointerFrom(meta, now().toISOString())
    try {
      await json.put(pointerKey(meta.slug), pointer, {
        ...(previous?.etag ? { ifMatch: previous.etag } : { ifNoneMatch: '*' }),
        cacheControl: 'no-cache',
        pretty: true
      })
    } catch (err) {
      if (err instanceof WriteConflict) throw new ConflictError(conflictCode, conflictMessage)
      throw err
    }
    cache.set(meta.slug, pointer)
    return pointer
  }

  /** The versions stored for a slug (or only `only`), newest id first, from one listing. */
  async function listVersionObjects (slug: string, only?: string): Promise<ListedVersion[]> {
    const found = new Map<string, ListedVersion>()
    for await (const object of json.list(only ? `${versionsPrefix(slug)}${only}/` : versionsPrefix(slug))) {
      const [version, name] = object.key.slice(versionsPrefix(slug).length).split('/')
      if (!version || !name || !VERSION_RE.test(version)) continue
      const entry = found.get(version) ?? { version, hasMeta: false }
      if (name === 'meta.json') entry.hasMeta = true
      else if (/\.pdf$/i.test(name)) { entry.pdfKey = object.key; entry.size = object.size }
      found.set(version, entry)
    }
    return [...found.values()].sort((a, b) => b.version.localeCompare(a.version))
  }

  /** A version's meta.json; for versions published before it existed, rebuilt (legacy.ts). */
  async function versionMeta (slug: string, listed: ListedVersion, currentPointer: () => Promise<WhitepaperPointer | null>): Promise<VersionMeta | null> {
    // Read only from the version's own folder, and checked: a meta.json is trusted for nothing it does not prove.
    if (listed.hasMeta) return await recorded(slug, listed.version)
    if (!listed.pdfKey) return null
    return await legacyMeta({ s3, bucket, now: clock }, slug, listed.version, listed.pdfKey, listed.size, await currentPointer())
  }

  return {
    /** The active version of a slug, at most `refreshMs` old; null when nothing is published. */
    async current (slug: string): Promise<WhitepaperPointer | null> {
      assertSlug(slug)
      return await cache.get(slug)
    },

    /** Like `current`, but a missing whitepaper is an error (see `found`). */
    async require (slug: string): Promise<WhitepaperPointer> {
      return found(await this.current(slug))
    },

    /** The pointer as it is in S3 now (no cache): for the admin page and the CLI. */
    async read (slug: string): Promise<WhitepaperPointer | null> {
      assertSlug(slug)
      return (await readPointer(slug))?.value ?? null
    },

    /** Every slug that has anything stored (ListObjectsV2 with a delimiter: one entry per slug). */
    async slugs (): Promise<string[]> {
      const out: string[] = []
      for await (const entry of json.list(WHITEPAPERS_PREFIX, { delimiter: '/' })) {
        if (!entry.commonPrefix) continue
        const slug = entry.key.slice(WHITEPAPERS_PREFIX.length).replace(/\/$/, '')
        if (SLUG_RE.test(slug)) out.push(slug)
      }
      return out.sort()
    },

    /** Every slug with its current pointer (null: versions uploaded, none active yet). */
    async overview (): Promise<Array<{ slug: string, pointer: WhitepaperPointer | null }>> {
      const slugs = await this.slugs()
      return await mapAll(slugs, 8, async slug => ({ slug, pointer: (await readPointer(slug))?.value ?? null }))
    },

    /** The versions of a slug, newest first. */
    async versions (slug: string): Promise<VersionInfo[]> {
      assertSlug(slug)
      const [listed, pointer] = await Promise.all([listVersionObjects(slug), readPointer(slug)])
      const versions = await mapAll(listed, 8, async entry => {
        const meta = await versionMeta(slug, entry, async () => pointer?.value ?? null).catch(err => {
          if (!(err instanceof ConflictError) || err.code !== 'version_meta_invalid') throw err
          options.log?.warn({ slug, version: entry.version, code: err.code }, 'a version\'s meta.json failed its check; listed as unverified')
          return null
        })
        return {
          version: entry.version,
          state: meta ? 'ready' as const : 'unverified' as const,
          current: pointer?.value.version === entry.version,
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
        // With a delimiter the first page says it: current.json and the versions/ prefix, if any.
        let stored = false
        for await (const _entry of json.list(slugPrefix(slug), { delimiter: '/' })) { stored = true; break }
        if (!stored) throw new NotFoundError('whitepaper_not_found', `There is no whitepaper "${slug}".`)
        throw new NotFoundError('version_not_found', `"${slug}" has no version ${version}.`)
      }
      const meta = await versionMeta(slug, listed, async () => (await readPointer(slug))?.value ?? null)
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
      if (current?.value.version === version) {
        cache.set(slug, current.value)
        return current.value
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
      const etag = await uploadBytes(s3, bucket, key, source, filename, input.onProgress)
      const previous = await readPointer(slug)
      const meta = await recordVersion({
        slug,
        version,
        key,
        filename,
        title: input.title ?? previous?.value.title ?? defaultTitle(filename),
        description: input.description ?? previous?.value.description ?? '',
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
