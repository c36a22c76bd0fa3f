// Local mode only: s3rver lists a page by walking and stat()ing every file of the bucket below the
// prefix, synchronously, for every page: with 100,000 records one page takes seconds and blocks the
// emulator. S3 answers a page in constant time whatever the bucket holds. This listing walks only the
// directories a page needs, in key order, with each directory's sorted entries kept until it changes.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
import { readdir, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const OBJECT_SUFFIX = '._S3rver_object'
/** A directory changed less than this long ago may change again within its mtime's tick: not cached. */
const SETTLED_MS = 1000

interface ListOptions {
  delimiter?: string | undefined
  startAfter?: string | undefined
  prefix?: string | undefined
  maxKeys?: number | undefined
}

interface ListedObject { key: string }

interface ListingStore {
  rootDirectory: string
  getMetadata: (bucket: string, key: string) => Promise<Record<string, unknown>>
  listObjects: (bucket: string, options: ListOptions) => Promise<{ objects: ListedObject[], commonPrefixes: string[], isTruncated: boolean }>
}

/** A directory entry by the key it stands for: an object's key, or a folder's key prefix ending in "/". */
interface Entry { name: string, folder: boolean }

/** The first index whose name is greater than `after` (entries sorted by name). */
function firstAfter (entries: Entry[], after: string): number {
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((entries[mid] as Entry).name <= after) lo = mid + 1
    else hi = mid
  }
  return lo
}

export function fastListing (store: ListingStore): void {
  // Windows paths encode some key characters: keep s3rver's own listing there.
  if (process.platform === 'win32') return
  const S3Object = createRequire(import.meta.url)('s3rver/lib/models/object') as new (bucket: string, key: string, content: null, metadata: Record<string, unknown>) => ListedObject
  const cache = new Map<string, { mtimeNs: bigint, entries: Entry[] }>()

  /** The entries of the folder `dir` (key prefix `base`), sorted by key: siblings sorted so walk in key order. */
  async function entriesOf (dir: string, base: string): Promise<Entry[]> {
    const info = await stat(dir, { bigint: true }).catch(() => undefined)
    if (!info) return []
    const cached = cache.get(dir)
    if (cached && cached.mtimeNs === info.mtimeNs) return cached.entries
    const entries: Entry[] = []
    for (const dirent of await readdir(dir, { withFileTypes: true })) {
      if (dirent.isDirectory()) entries.push({ name: `${base}${dirent.name}/`, folder: true })
      else if (dirent.name.endsWith(OBJECT_SUFFIX)) entries.push({ name: base + dirent.name.slice(0, -OBJECT_SUFFIX.length), folder: false })
    }
    // Plain code-unit order, as S3 lists (UTF-8 binary order for the keys leadlink writes).
    entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    if (Number(info.mtimeNs / 1_000_000n) < Date.now() - SETTLED_MS) cache.set(dir, { mtimeNs: info.mtimeNs, entries })
    return entries
  }

  store.listObjects = async function listObjects (bucket, options) {
    const prefix = options.prefix ?? ''
    const startAfter = options.startAfter ?? ''
    const delimiter = options.delimiter ?? ''
    const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY
    const keys: string[] = []
    const commonPrefixes = new Set<string>()
    let isTruncated = false

    /** Walks the folder `base` in key order; false once the page is full. */
    async function walk (dir: string, base: string): Promise<boolean> {
      const entries = await entriesOf(dir, base)
      // Everything up to startAfter is skipped without being looked at; a folder holding it is entered.
      let i = firstAfter(entries, startAfter)
      if (i > 0 && (entries[i - 1] as Entry).folder && startAfter.startsWith((entries[i - 1] as Entry).name)) i--
      for (; i < entries.length; i++) {
        const { name, folder } = entries[i] as Entry
        if (!name.startsWith(prefix) && !(folder && prefix.startsWith(name))) {
          if (name > prefix) break
          continue
        }
        if (folder) {
          const below = name.slice(prefix.length)
          if (delimiter && name.startsWith(prefix) && below.includes(delimiter)) {
            if (delimiter === '/') {
              commonPrefixes.add(name)
              continue
            }
          }
          if (!await walk(join(dir, name.slice(base.length, -1)), name)) return false
          continue
        }
        if (name <= startAfter) continue
        if (delimiter) {
          const at = name.slice(prefix.length).indexOf(delimiter)
          if (at !== -1) {
            commonPrefixes.add(name.slice(0, prefix.length + at + delimiter.length))
            continue
          }
        }
        if (keys.length >= maxKeys) {
          isTruncated = true
          return false
        }
        keys.push(name)
      }
      return true
    }

    await walk(join(store.rootDirectory, bucket), '')
    // Gone since it was listed (deleted meanwhile): left out, as s3rver does.
    const metadata = await Promise.all(keys.map(key => store.getMetadata(bucket, key).catch(() => undefined)))
    const objects = keys.flatMap((key, i) => metadata[i] ? [new S3Object(bucket, key, null, metadata[i])] : [])
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated }
  }
}
