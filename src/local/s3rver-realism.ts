// Local mode only: makes s3rver behave like S3 where correctness depends on it. s3rver ignores
// `If-None-Match: *` and `If-Match` on PUT, writes objects as they stream in (a reader can see
// half an object; a client that dies mid-upload leaves one), and keeps an object's body, size and
// ETag in three files read and written one by one (a reader can get a new ETag with the old body).
// S3 does none of these.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
import crypto, { createHash, randomBytes } from 'node:crypto'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Readable } from 'node:stream'
import { fastListing } from './s3rver-listing.ts'

interface KoaContext {
  method: string
  path: string
  get: (header: string) => string
  status: number
  type: string
  body: unknown
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>
interface S3rverObject {
  bucket: string
  key: string
  content: Readable | Buffer
  metadata: Record<string, string>
}
interface S3rverStore {
  getObject: (bucket: string, key: string, options?: unknown) => Promise<unknown>
  deleteObject: (bucket: string, key: string) => Promise<unknown>
  getMetadata: (bucket: string, key: string) => Promise<{ etag?: string } | null | undefined>
  getResourcePath: (bucket: string, key: string, resource: string) => string
  putMetadata: (bucket: string, key: string, metadata: Record<string, string>, md5: string) => Promise<void>
  putObject: (object: S3rverObject) => Promise<{ size: number, md5: string }>
}
interface S3rverLike {
  middleware: Middleware[]
  store: S3rverStore
}

function errorXml (code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`
}

/** Applies every fix below. */
export function makeS3rverRealistic (server: S3rverLike): void {
  enforceConditionalWrites(server)
  atomicPuts(server.store)
  consistentObjects(server.store)
  listingPastOnePage()
  fastListing(server.store as never)
}

let desReplaced = false
/**
 * s3rver seals ListObjectsV2 continuation tokens with DES, which Node 24's OpenSSL 3 refuses, so a
 * listing past its first page (1000 keys) fails. The token only has to come back to s3rver itself:
 * 'des' is served by AES-128-CBC with the same 8-byte key and IV doubled. Nothing else in this
 * process asks for DES (the app never does).
 */
export function listingPastOnePage (): void {
  if (desReplaced) return
  desReplaced = true
  const double = (b: crypto.BinaryLike) => { const x = Buffer.from(b as Uint8Array); return Buffer.concat([x, x]) }
  const { createCipheriv, createDecipheriv } = crypto
  type Args = Parameters<typeof createCipheriv>
  crypto.createCipheriv = ((algorithm: string, key: Args[1], iv: Args[2], options?: Args[3]) => algorithm === 'des'
    ? createCipheriv('aes-128-cbc', double(key as crypto.BinaryLike), double(iv as crypto.BinaryLike))
    : createCipheriv(algorithm, key, iv, options as never)) as typeof createCipheriv
  crypto.createDecipheriv = ((algorithm: string, key: Args[1], iv: Args[2], options?: Args[3]) => algorithm === 'des'
    ? createDecipheriv('aes-128-cbc', double(key as crypto.BinaryLike), double(iv as crypto.BinaryLike))
    : createDecipheriv(algorithm, key, iv, options as never)) as typeof createDecipheriv
}

/**
 * An object appears whole or not at all: the body is received completely (a short body is an
 * error), written to a temporary file and renamed into place.
 */
export function atomicPuts (store: S3rverStore): void {
  store.putObject = async function putObject (object) {
    let content: Buffer
    if (Buffer.isBuffer(object.content)) {
      content = object.content
    } else {
      const chunks: Buffer[] = []
      for await (const chunk of object.content) chunks.push(chunk as Buffer)
      content = Buffer.concat(chunks)
      const declared = Number(object.metadata['content-length'])
      // A completed multipart upload carries the metadata of its CreateMultipartUpload (length 0).
      if (Number.isFinite(declared) && declared > 0 && declared !== content.length) throw new Error('incomplete upload')
    }
    const path = store.getResourcePath(object.bucket, object.key, 'object')
    await mkdir(dirname(path), { recursive: true })
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`
    await writeFile(temp, content)
    const md5 = createHash('md5').update(content).digest('hex')
    await store.putMetadata(object.bucket, object.key, object.metadata, md5)
    await rename(temp, path)
    return { size: content.length, md5 }
  }
}

/**
 * One key's reads and writes take turns, so that each sees the object whole: the ETag (object.md5)
 * and size (a stat) with the body they describe. Under load a reader otherwise got a new ETag with
 * the old body, so two senders both claimed one outbox batch with If-Match, or a body cut to the new
 * size. A read's turn ends once its body file is open (the open file keeps the version it opened).
 */
export function consistentObjects (store: S3rverStore): void {
  const turns = new Map<string, Promise<unknown>>()
  const { getObject, getMetadata, deleteObject, putObject } = store
  // The originals call each other through `this` (getObject reads getMetadata): inside a turn they
  // must reach the originals, not wait for a turn of their own.
  const raw: S3rverStore = Object.create(store, {
    getObject: { value: getObject }, getMetadata: { value: getMetadata }, deleteObject: { value: deleteObject }, putObject: { value: putObject }
  })
  const inTurn = <A extends unknown[], R>(fn: (bucket: string, key: string, ...rest: A) => Promise<R>) =>
    (bucket: string, key: string, ...rest: A): Promise<R> => {
      const id = `${bucket}/${key}`
      const previous = turns.get(id) ?? Promise.resolve()
      const mine = previous.then(() => fn.call(raw, bucket, key, ...rest))
      const settled = mine.catch(() => {})
      turns.set(id, settled)
      void settled.then(() => { if (turns.get(id) === settled) turns.delete(id) })
      return mine
    }
  store.getObject = inTurn(getObject)
  store.getMetadata = inTurn(getMetadata)
  store.deleteObject = inTurn(deleteObject)
  const put = inTurn((_bucket: string, _key: string, object: S3rverObject) => putObject.call(raw, object))
  store.putObject = (object: S3rverObject) => put(object.bucket, object.key, object)
}

export function enforceConditionalWrites (server: S3rverLike): void {
  // Writes to one key are serialised so that check-then-write is atomic, as S3 guarantees.
  const locks = new Map<string, Promise<void>>()
  const conditional: Middleware = async (ctx, next) => {
    const ifNoneMatch = ctx.get('if-none-match')
    const ifMatch = ctx.get('if-match')
    if (ctx.method !== 'PUT' || (!ifNoneMatch && !ifMatch)) return await next()
    const [, bucket, ...rest] = ctx.path.split('/')
    const key = decodeURIComponent(rest.join('/'))
    if (!bucket || !key) return await next()
    const lockKey = `${bucket}/${key}`
    const previous = locks.get(lockKey) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>(resolve => { release = resolve })
    locks.set(lockKey, previous.then(() => mine))
    await previous
    try {
      const meta = await server.store.getMetadata(bucket, key).catch(() => null)
      const etag = meta?.etag
      const fail = (ifNoneMatch === '*' && etag !== undefined) ||
        (ifMatch !== '' && (etag === undefined || ifMatch.replace(/"/g, '') !== etag.replace(/"/g, '')))
      if (fail) {
        ctx.status = etag === undefined ? 404 : 412
        ctx.type = 'application/xml'
        ctx.body = etag === undefined
          ? errorXml('NoSuchKey', 'The specified key does not exist.')
          : errorXml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold')
        return
      }
      await next()
    } finally {
      release()
      if (locks.get(lockKey) === mine) locks.delete(lockKey)
    }
  }
  server.middleware.unshift(conditional)
}
