// Local mode's s3rver honours conditional writes as real S3 does, so local data is never overwritten.
import t from 'tap'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { startEmulators } from '../helper.ts'

t.test('If-None-Match: * and If-Match behave like S3', async t => {
  const stack = await startEmulators(t)
  const s3 = new S3Client({
    region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials, maxAttempts: 1
  })
  t.teardown(() => s3.destroy())
  const Bucket = stack.config.aws.s3.bucket
  const first = await s3.send(new PutObjectCommand({ Bucket, Key: 'a/b.json', Body: '1', IfNoneMatch: '*' }))
  const again = await s3.send(new PutObjectCommand({ Bucket, Key: 'a/b.json', Body: '2', IfNoneMatch: '*' })).catch(e => e)
  t.equal(again.$metadata?.httpStatusCode, 412)
  t.equal(again.name, 'PreconditionFailed')
  const stale = await s3.send(new PutObjectCommand({ Bucket, Key: 'a/b.json', Body: '3', IfMatch: '"0000"' })).catch(e => e)
  t.equal(stale.$metadata?.httpStatusCode, 412)
  const body = async () => (await s3.send(new GetObjectCommand({ Bucket, Key: 'a/b.json' }))).Body?.transformToString()
  t.equal(await body(), '1', 'losing writes changed nothing')
  const ok = await s3.send(new PutObjectCommand({ Bucket, Key: 'a/b.json', Body: '4', IfMatch: first.ETag }))
  t.ok(ok.ETag)
  t.equal(await body(), '4')
  const missing = await s3.send(new PutObjectCommand({ Bucket, Key: 'a/none.json', Body: '5', IfMatch: '"x"' })).catch(e => e)
  t.equal(missing.$metadata?.httpStatusCode, 404)
  // Concurrent creates: exactly one wins.
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) =>
    s3.send(new PutObjectCommand({ Bucket, Key: 'race.json', Body: String(i), IfNoneMatch: '*' }))))
  t.equal(results.filter(r => r.status === 'fulfilled').length, 1)
  const plain = await s3.send(new PutObjectCommand({ Bucket, Key: 'a/b.json', Body: '6' }))
  t.ok(plain.ETag, 'unconditional writes still work')
})

t.test('a PUT whose client dies mid-body leaves nothing; readers never see half an object', async t => {
  const stack = await startEmulators(t)
  const url = new URL(`${stack.config.aws.s3.endpoint}/${stack.config.aws.s3.bucket}/half.json`)
  const { request } = await import('node:http')
  await new Promise<void>(resolve => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': '1000', authorization: 'AWS4-HMAC-SHA256 Credential=S3RVER/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0' } })
    req.on('error', () => resolve())
    req.write('{"partial": "')
    setImmediate(() => { req.destroy(); resolve() })
  })
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials, maxAttempts: 1 })
  t.teardown(() => s3.destroy())
  // Give the emulator a moment to notice the aborted upload, then check nothing was stored.
  await new Promise(resolve => setTimeout(resolve, 200))
  const res = await s3.send(new GetObjectCommand({ Bucket: stack.config.aws.s3.bucket, Key: 'half.json' })).catch(e => e)
  t.equal(res.$metadata?.httpStatusCode, 404, 'the half-written object does not exist')

  // Concurrent readers during many overwrites always parse a whole document.
  const Bucket = stack.config.aws.s3.bucket
  const big = (n: number) => JSON.stringify({ n, pad: 'x'.repeat(200_000) })
  await s3.send(new PutObjectCommand({ Bucket, Key: 'big.json', Body: big(0) }))
  const writes = Array.from({ length: 10 }, (_, i) => s3.send(new PutObjectCommand({ Bucket, Key: 'big.json', Body: big(i + 1) })))
  const reads = Array.from({ length: 20 }, async () => {
    const body = await (await s3.send(new GetObjectCommand({ Bucket, Key: 'big.json' }))).Body?.transformToString()
    return JSON.parse(body ?? '').n as number
  })
  const [, values] = await Promise.all([Promise.all(writes), Promise.all(reads)])
  t.ok(values.every(v => Number.isInteger(v)), 'every read was a complete document')
})
