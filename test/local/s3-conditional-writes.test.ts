// Local mode's s3rver honours conditional writes as real S3 does, so local data is never overwritten.
import t from 'tap'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { startEmulators } from '../helper.ts'

t.test('If-None-Match: * and If-Match behave like S3', async t => {
  const stack = await startEmulators(t)
  const s3 = new S3Client({
    region: 'us-east-1', endpoint: stack.config.S3_ENDPOINT, forcePathStyle: true, credentials: stack.credentials, maxAttempts: 1
  })
  t.teardown(() => s3.destroy())
  const Bucket = stack.config.s3Bucket
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
