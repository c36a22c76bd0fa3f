// The signups section's floor, run as a process of its own as the export is: every subscriber key
// listed (the next page asked for while one is read, at most two pages ahead) and every record read
// and dropped, `concurrency` reads in flight, through the SDK with the app's client settings. Nothing
// else is loaded, so its time and memory are what listing and reading alone cost.
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'

export async function floor (endpoint: string, bucket: string, concurrency: number): Promise<{ listed: number, bytes: number }> {
  // The app's client settings (src/aws/clients.ts) where they touch reads.
  const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, maxAttempts: 3, responseChecksumValidation: 'WHEN_REQUIRED' })
  const keys: string[] = []
  let listing = true
  let listed = 0
  let bytes = 0
  // Who waits: readers for keys, the lister for room (it keeps at most two pages ahead of the readers).
  let waiting: Array<() => void> = []
  const wakeAll = () => { const w = waiting; waiting = []; for (const f of w) f() }
  const wait = () => new Promise<void>(resolve => { waiting.push(resolve) })
  const lister = (async () => {
    let token: string | undefined
    do {
      while (keys.length >= 2000) await wait()
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'subscribers/', ContinuationToken: token }))
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key)
      listed += page.Contents?.length ?? 0
      wakeAll()
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    listing = false
    wakeAll()
  })()
  const reader = async () => {
    for (;;) {
      const key = keys.shift()
      if (key === undefined) {
        if (!listing) return
        await wait()
        continue
      }
      if (keys.length < 1000) wakeAll()
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      bytes += (await res.Body!.transformToString()).length
    }
  }
  await Promise.all([lister, ...Array.from({ length: concurrency }, reader)])
  s3.destroy()
  return { listed, bytes }
}

if (import.meta.main) {
  const [endpoint = '', bucket = '', concurrency = '16'] = process.argv.slice(2)
  process.stdout.write(JSON.stringify(await floor(endpoint, bucket, Number(concurrency))))
}
