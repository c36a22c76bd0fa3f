// Local mode only: makes s3rver honour `If-None-Match: *` and `If-Match` on PUT as real S3 does
// (s3rver ignores them), so local data behaves like production: no record is silently overwritten.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html

interface KoaContext {
  method: string
  path: string
  get: (header: string) => string
  status: number
  type: string
  body: unknown
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>
interface S3rverLike {
  middleware: Middleware[]
  store: { getMetadata: (bucket: string, key: string) => Promise<{ etag?: string } | null | undefined> }
}

function errorXml (code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`
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
