// Local mode's s3rver gives each read one version of an object, whole (src/local/s3rver-realism.ts):
// an ETag with the body it names, and a conditional write that only one of several claimers wins.
// Without it, a reader racing a writer got the new ETag with the old body, and two outbox senders
// both claimed one batch with If-Match.
import { createHash } from 'node:crypto'
import S3rver from 's3rver'
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3'
import t, { type Test } from 'tap'
import { makeS3rverRealistic } from '../../src/local/s3rver-realism.ts'
import { tempDir } from '../helper.ts'

const BUCKET = 'consistent-bucket'

async function emulator (t: Test): Promise<S3Client> {
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: await tempDir(t), configureBuckets: [{ name: BUCKET, configs: [] }] })
  makeS3rverRealistic(server as never)
  const { port } = await server.run()
  t.teardown(() => server.close())
  const s3 = new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
  t.teardown(() => s3.destroy())
  return s3
}

const md5 = (body: string) => `"${createHash('md5').update(body).digest('hex')}"`

t.test('a read racing writes gets one version: its ETag is its body\'s MD5, its body whole', async t => {
  const s3 = await emulator(t)
  const Key = 'race/object.json'
  // Bodies of different sizes, so that a size from one version and a body from another shows.
  const body = (i: number) => JSON.stringify({ version: i, pad: 'x'.repeat(50 + (i % 7) * 40) })
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: body(0) }))
  let torn = 0
  let reads = 0
  const writer = (async () => {
    for (let i = 1; i <= 150; i++) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: body(i) }))
  })()
  let writing = true
  void writer.finally(() => { writing = false })
  await Promise.all(Array.from({ length: 6 }, async () => {
    while (writing) {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }))
      const text = await got.Body?.transformToString() ?? ''
      reads++
      if (got.ETag !== md5(text) || !text.endsWith('"}')) torn++
    }
  }))
  await writer
  t.ok(reads > 100, `${reads} reads during 150 writes`)
  t.equal(torn, 0, 'no read mixed two versions')
})

t.test('read, then PUT If-Match: every win follows the version its winner read (no two claims of one version)', async t => {
  const s3 = await emulator(t)
  const Key = 'race/batch.json'
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: JSON.stringify({ owner: 'nobody', claim: 0 }) }))
  // Each claimer reads the object and writes the next claim number on the ETag it read, again and
  // again: a claim number written twice means two claimers both won on one version.
  const wins: number[] = []
  let lost = 0
  await Promise.all(Array.from({ length: 4 }, async (_, claimer) => {
    for (let i = 0; i < 40; i++) {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }))
      const seen = JSON.parse(await got.Body?.transformToString() ?? '{}') as { claim: number }
      const claim = seen.claim + 1
      try {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, IfMatch: got.ETag, Body: JSON.stringify({ owner: `claimer${claimer}`, claim, pad: 'x'.repeat(claimer * 30) }) }))
        wins.push(claim)
      } catch (err) {
        if (!(err instanceof S3ServiceException && err.$metadata.httpStatusCode === 412)) throw err
        lost++
      }
    }
  }))
  t.ok(lost > 0, `${lost} of 160 claims lost a race`)
  t.equal(new Set(wins).size, wins.length, `${wins.length} wins, each on its own version`)
})
