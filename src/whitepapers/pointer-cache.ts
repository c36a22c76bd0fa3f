// The pointers this instance serves from memory: each re-read at most once per `refreshMs` (one
// request however many readers wait), unknown slugs remembered too, and the last known pointer kept
// when S3 fails, so that a hiccup does not fail every signup.
import { UnavailableError } from '../errors.ts'
import type { WhitepaperPointer } from './model.ts'

interface Entry {
  pointer: WhitepaperPointer | null
  fetchedAt: number
  pending?: Promise<WhitepaperPointer | null>
}

export interface PointerCacheOptions {
  refreshMs: number
  /** the pointer as it is in S3 now */
  read: (slug: string) => Promise<WhitepaperPointer | null>
  log?: { warn: (obj: object, msg: string) => void }
}

// Bounds the memory that requests for made-up slugs can take.
const MAX_SLUGS = 1000

export function createPointerCache (options: PointerCacheOptions) {
  const { refreshMs, read } = options
  const cache = new Map<string, Entry>()

  async function refresh (slug: string): Promise<WhitepaperPointer | null> {
    const entry = cache.get(slug)
    try {
      const pointer = await read(slug)
      if (cache.size > MAX_SLUGS && !cache.has(slug)) cache.clear()
      cache.set(slug, { pointer, fetchedAt: Date.now() })
      return pointer
    } catch (err) {
      if (entry) {
        options.log?.warn({ err, slug }, 'catalog refresh failed; serving the cached pointer')
        cache.set(slug, { pointer: entry.pointer, fetchedAt: Date.now() })
        return entry.pointer
      }
      throw new UnavailableError('The whitepaper catalog is unavailable.', { cause: err })
    }
  }

  return {
    /** The slug's pointer, read again when older than `refreshMs`; null when nothing is published. */
    async get (slug: string): Promise<WhitepaperPointer | null> {
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

    /** What this instance just wrote: served at once, without a read. */
    set (slug: string, pointer: WhitepaperPointer): void {
      cache.set(slug, { pointer, fetchedAt: Date.now() })
    }
  }
}
