// Local mode's s3rver lists past its first page on Node 24 (its DES continuation tokens are served
// by AES, see src/local/s3rver-realism.ts): without it, an export or outbox scan of more than 1000
// keys fails in local mode.
import S3rver from 's3rver'
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { makeS3rverRealistic } from '../../src/local/s3rver-realism.ts'
import { tempDir } from '../helper.ts'

t.test('ListObjectsV2 pages through every key', async t => {
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: await tempDir(t), configureBuckets: [{ name: 'paging-bucket', configs: [] }] })
  makeS3rverRealistic(server as never)
  const { port } = await server.run()
  t.teardown(() => server.close())
  const s3 = new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
  t.teardown(() => s3.destroy())
  const written = Array.from({ length: 7 }, (_, i) => `k/${i}`)
  for (const Key of written) await s3.send(new PutObjectCommand({ Bucket: 'paging-bucket', Key, Body: 'x' }))
  const keys: string[] = []
  let pages = 0
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'paging-bucket', MaxKeys: 2, ContinuationToken: token }))
    keys.push(...(page.Contents ?? []).map(o => o.Key as string))
    token = page.IsTruncated ? page.NextContinuationToken : undefined
    pages++
  } while (token)
  t.same(keys, written)
  t.equal(pages, 4, 'four pages of at most two')
})
