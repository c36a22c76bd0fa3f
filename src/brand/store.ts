// The brand settings and page extras in S3 (through the one JSON store), each served from memory for at
// most CATALOG_REFRESH_SECONDS like a whitepaper pointer, so running instances pick up a change without
// a restart; saves are conditional (If-Match on the version the marketer loaded): no lost update.
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import type { Readable } from 'node:stream'
import { systemClock, type Clock } from '../clock.ts'
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts'
import { isNotFound } from '../storage/errors.ts'
import { createJsonStore, WriteConflict } from '../storage/json-store.ts'
import { assertSlug } from '../whitepapers/keys.ts'
import {
  BRAND_KEY, type BrandImage, type BrandSettings, BrandSettingsSchema, DEFAULT_BRAND, defaultPage, IMAGE_NAME_PATTERN,
  IMAGE_TYPES, imageKey, type ImageType, pageKey, type PageSettings, PageSettingsSchema
} from './model.ts'

export interface Versioned<T> {
  value: T
  /** the ETag to save against; '' when nothing is stored yet (the save then creates it) */
  etag: string
}

export interface BrandStoreOptions {
  s3: S3Client
  bucket: string
  refreshMs: number
  now?: Clock
  log?: { warn: (obj: object, msg: string) => void }
}

const IMAGE_NAME_RE = new RegExp(IMAGE_NAME_PATTERN)
// Bounds the memory that requests for made-up slugs can take (as the pointer cache does).
const MAX_ENTRIES = 1000

/** Values re-read at most once per `refreshMs`, one read however many wait; the last value kept when S3 fails. */
function refreshing<T> (refreshMs: number, clock: Clock, read: (key: string) => Promise<T>, log?: BrandStoreOptions['log']) {
  const cache = new Map<string, { value: T, at: number, pending?: Promise<T> }>()
  return {
    async get (key: string): Promise<T> {
      const entry = cache.get(key)
      if (entry && clock() - entry.at < refreshMs) return entry.value
      if (entry?.pending) return await entry.pending
      const pending = read(key).then(value => {
        if (cache.size > MAX_ENTRIES && !cache.has(key)) cache.clear()
        cache.set(key, { value, at: clock() })
        return value
      }, err => {
        if (!entry) { cache.delete(key); throw err }
        log?.warn({ err, key }, 'brand settings refresh failed; serving the cached ones')
        cache.set(key, { value: entry.value, at: clock() })
        return entry.value
      })
      // Readers that come meanwhile wait for this one read (the value is not served until it is there).
      cache.set(key, { value: entry?.value as T, at: entry?.at ?? 0, pending })
      return await pending
    },
    set (key: string, value: T): void {
      cache.set(key, { value, at: clock() })
    }
  }
}

function conflict (what: string): ConflictError {
  return new ConflictError('brand_conflict', `Someone else saved ${what} after you opened this page, so nothing was changed. Reload the page to see their version, then make your change again.`)
}

export type BrandStore = ReturnType<typeof createBrandStore>

export function createBrandStore (options: BrandStoreOptions) {
  const { s3, bucket } = options
  const clock = options.now ?? systemClock
  const json = createJsonStore(options)

  async function read (): Promise<Versioned<BrandSettings>> {
    const stored = await json.get(BRAND_KEY, BrandSettingsSchema)
    return stored ?? { value: DEFAULT_BRAND, etag: '' }
  }
  async function readPage (slug: string): Promise<Versioned<PageSettings>> {
    assertSlug(slug)
    const stored = await json.get(pageKey(slug), PageSettingsSchema)
    return stored ?? { value: defaultPage(slug), etag: '' }
  }
  const settingsCache = refreshing(options.refreshMs, clock, async () => (await read()).value, options.log)
  const pageCache = refreshing(options.refreshMs, clock, async slug => (await readPage(slug)).value, options.log)

  async function put (key: string, value: unknown, etag: string, what: string): Promise<string> {
    try {
      return await json.put(key, value, { ...(etag ? { ifMatch: etag } : { ifNoneMatch: '*' }), cacheControl: 'no-cache', pretty: true })
    } catch (err) {
      if (err instanceof WriteConflict) throw conflict(what)
      throw err
    }
  }

  return {
    /** The site-wide brand as this instance serves it (at most `refreshMs` old). */
    settings: (): Promise<BrandSettings> => settingsCache.get(''),

    /** A whitepaper's page extras as served (at most `refreshMs` old). */
    async page (slug: string): Promise<PageSettings> {
      assertSlug(slug)
      return await pageCache.get(slug)
    },

    /** As stored now, with the ETag a save must match (the admin form carries it). */
    read,
    readPage,

    async save (input: Omit<BrandSettings, 'updatedAt'>, etag: string): Promise<Versioned<BrandSettings>> {
      const value: BrandSettings = { ...input, updatedAt: new Date(clock()).toISOString() }
      const written = await put(BRAND_KEY, value, etag, 'the brand settings')
      settingsCache.set('', value)
      return { value, etag: written }
    },

    async savePage (slug: string, input: Omit<PageSettings, 'slug' | 'updatedAt'>, etag: string): Promise<Versioned<PageSettings>> {
      assertSlug(slug)
      const value: PageSettings = { slug, ...input, updatedAt: new Date(clock()).toISOString() }
      const written = await put(pageKey(slug), value, etag, `the page settings of "${slug}"`)
      pageCache.set(slug, value)
      return { value, etag: written }
    },

    /**
     * A checked image by name, as the upload check wrote it (its own metadata: type and pixels), with
     * the alt text to show it with; a name that is not a checked image is a ValidationError.
     */
    async image (name: string, alt: string, field: string): Promise<BrandImage> {
      if (!IMAGE_NAME_RE.test(name)) throw new ValidationError('image_unknown', 'That image was not uploaded here. Upload it again.', field)
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: imageKey(name) })).catch(err => {
        if (isNotFound(err)) throw new ValidationError('image_unknown', 'That image is not in the bucket any more. Upload it again.', field)
        throw err
      })
      const width = Number(head.Metadata?.width)
      const height = Number(head.Metadata?.height)
      const type = name.slice(name.lastIndexOf('.') + 1) as ImageType
      if (!(width > 0) || !(height > 0)) throw new ValidationError('image_unknown', 'That image was not checked here. Upload it again.', field)
      return { name, type, width, height, size: head.ContentLength ?? 0, alt }
    },

    /** The bytes of a checked image, streamed from S3. */
    async openImage (image: BrandImage): Promise<{ body: Readable, contentType: string, length: number | undefined }> {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: imageKey(image.name) })).catch(err => {
        if (isNotFound(err)) throw new NotFoundError('image_not_found', 'There is no image here.')
        throw err
      })
      return { body: res.Body as Readable, contentType: IMAGE_TYPES[image.type], length: res.ContentLength }
    }
  }
}
