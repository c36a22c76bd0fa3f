// Benchmark stand-ins for S3 (path style, in memory, conditional writes) and SES v2 (optionally throttled as
// SES throttles), with request counters.
// Fast on purpose: the bench measures the service in front of it, so this must never be the bottleneck.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'

export const BENCH_BUCKET = 'bench-bucket'
export const BENCH_PDF_KEY = 'whitepapers/default/versions/v1/paper.pdf'

/** What `whitepapers/default/current.json` holds when the stand-in starts or is reset. */
export const SEED_POINTER = {
  slug: 'default',
  version: 'v1',
  key: BENCH_PDF_KEY,
  filename: 'paper.pdf',
  title: 'Bench paper',
  description: '',
  size: 1000,
  sha256: '00',
  activatedAt: '2026-01-01T00:00:00.000Z'
}

export interface StandInStats {
  s3Put: number
  s3Get: number
  s3Head: number
  s3Delete: number
  s3List: number
  /** conditional writes refused with 412 (If-None-Match: * on an existing key, If-Match mismatch) */
  s3PreconditionFailed: number
  s3NotFound: number
  /** request body bytes received by PutObject */
  s3PutBytes: number
  /** SendEmail calls accepted (answered 200) */
  sesSend: number
  /** SendEmail calls refused for exceeding the sending rate (answered 429 TooManyRequestsException) */
  sesThrottled: number
  /** Date.now() when the last accepted SendEmail arrived (0: none since the counters were zeroed) */
  sesLastSendAt: number
  /** request body bytes received by accepted SendEmail calls */
  sesBytes: number
  /** recipients over every accepted SendEmail call */
  sesRecipients: number
  /** GetAccount calls (the sending quota) */
  sesGetAccount: number
  /** any other SES request */
  sesOther: number
  /** requests this stand-in does not implement (answered 501), as "METHOD path" samples */
  unsupported: number
  unsupportedSamples: string[]
  objects: number
}

interface StoredObject {
  body: Buffer
  etag: string
  contentType: string
  lastModified: string
}

/**
 * SES's sending limits as the stand-in plays them. `sendRate` 0 accepts every SendEmail; otherwise a
 * token bucket of `sendRate` sends per second holding at most one second's worth refuses the excess.
 * `maxSendRate` is what GetAccount reports (by default `sendRate`, or a generous 100,000 when unthrottled).
 */
export interface SesLimits {
  sendRate: number
  maxSendRate: number
}

export interface StandIns {
  url: string
  port: number
  stats: () => StandInStats
  /** zeroes the counters */
  reset: () => void
  /** zeroes the counters and restores the seeded objects */
  wipe: () => void
  /** sets SES's sending limits (omitted: unthrottled, GetAccount following) and fills the send bucket */
  limitSes: (limits: Partial<SesLimits>) => SesLimits
  close: () => Promise<void>
}

function emptyStats (): StandInStats {
  return {
    s3Put: 0,
    s3Get: 0,
    s3Head: 0,
    s3Delete: 0,
    s3List: 0,
    s3PreconditionFailed: 0,
    s3NotFound: 0,
    s3PutBytes: 0,
    sesSend: 0,
    sesThrottled: 0,
    sesLastSendAt: 0,
    sesBytes: 0,
    sesRecipients: 0,
    sesGetAccount: 0,
    sesOther: 0,
    unsupported: 0,
    unsupportedSamples: [],
    objects: 0
  }
}

function xmlEscape (value: string): string {
  return value.replace(/[<>&'"]/g, c => `&#${c.charCodeAt(0)};`)
}

function s3Error (res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><RequestId>bench</RequestId></Error>`
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 'bench' })
  res.end(body)
}

function readBody (req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

// What SES v2 answers past the sending rate: 429 TooManyRequestsException, "Maximum sending rate exceeded."
// https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html#API_SendEmail_Errors
// https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas.html
const THROTTLED_REPLY = '{"__type":"TooManyRequestsException","message":"Maximum sending rate exceeded."}'
const UNTHROTTLED_MAX_SEND_RATE = 1e5

/** `s3LatencyMs`: each S3 answer waits this long first, as a round trip to S3 in the same region does (default 0). */
export function startStandIns (options: { port?: number, host?: string, bucket?: string, ses?: Partial<SesLimits>, s3LatencyMs?: number } = {}): Promise<StandIns> {
  const bucket = options.bucket ?? BENCH_BUCKET
  const objects = new Map<string, StoredObject>()
  let stats = emptyStats()
  let etagCounter = 0
  let messageCounter = 0
  let limits: SesLimits = { sendRate: 0, maxSendRate: UNTHROTTLED_MAX_SEND_RATE }
  const sendBucket = { tokens: 0, at: 0 }

  function limitSes (next: Partial<SesLimits>): SesLimits {
    const sendRate = Math.max(0, next.sendRate ?? 0)
    limits = { sendRate, maxSendRate: next.maxSendRate ?? (sendRate > 0 ? sendRate : UNTHROTTLED_MAX_SEND_RATE) }
    sendBucket.tokens = sendRate
    sendBucket.at = performance.now()
    return limits
  }

  /** Takes a send from the bucket; false when the rate is exceeded. */
  function maySend (): boolean {
    if (limits.sendRate <= 0) return true
    const now = performance.now()
    sendBucket.tokens = Math.min(limits.sendRate, sendBucket.tokens + (now - sendBucket.at) / 1000 * limits.sendRate)
    sendBucket.at = now
    if (sendBucket.tokens < 1) return false
    sendBucket.tokens -= 1
    return true
  }

  function store (key: string, body: Buffer, contentType: string): StoredObject {
    const object = { body, etag: `"${(++etagCounter).toString(16).padStart(32, '0')}"`, contentType, lastModified: new Date().toUTCString() }
    objects.set(key, object)
    return object
  }

  function seed (): void {
    objects.clear()
    store('whitepapers/default/current.json', Buffer.from(JSON.stringify(SEED_POINTER)), 'application/json')
    store(BENCH_PDF_KEY, Buffer.from('%PDF-1.4\n% bench stand-in\n'), 'application/pdf')
  }

  function unsupported (req: IncomingMessage, res: ServerResponse, path: string): void {
    stats.unsupported++
    const sample = `${req.method} ${path}`
    if (stats.unsupportedSamples.length < 10 && !stats.unsupportedSamples.includes(sample)) stats.unsupportedSamples.push(sample)
    s3Error(res, 501, 'NotImplemented', 'The bench stand-in does not implement this request.')
  }

  function listObjects (res: ServerResponse, query: URLSearchParams): void {
    stats.s3List++
    const prefix = query.get('prefix') ?? ''
    const after = query.get('continuation-token') ?? query.get('start-after') ?? ''
    const max = Math.min(Number(query.get('max-keys') ?? 1000) || 1000, 1000)
    const keys = [...objects.keys()].filter(k => k.startsWith(prefix) && k > after).sort()
    const page = keys.slice(0, max)
    const truncated = keys.length > page.length
    const contents = page.map(k => {
      const o = objects.get(k) as StoredObject
      return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${new Date(o.lastModified).toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`
    }).join('')
    const next = truncated ? `<NextContinuationToken>${xmlEscape(page[page.length - 1] ?? '')}</NextContinuationToken>` : ''
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>${bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }

  async function s3 (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const slash = path.indexOf('/', 1)
    const bucketName = slash === -1 ? path.slice(1) : path.slice(1, slash)
    const key = slash === -1 ? '' : decodeURIComponent(path.slice(slash + 1))
    if (bucketName !== bucket) return s3Error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist')
    const method = req.method ?? 'GET'

    if (key === '') {
      if (method === 'HEAD') {
        res.writeHead(200, { 'x-amz-bucket-region': 'us-east-1' })
        res.end()
        return
      }
      if (method === 'GET' && query.get('list-type') === '2') return listObjects(res, query)
      return unsupported(req, res, path)
    }

    if (method === 'PUT') {
      if (req.headers['x-amz-copy-source']) return unsupported(req, res, path)
      const body = await readBody(req)
      stats.s3Put++
      stats.s3PutBytes += body.length
      // Check and write in one tick, so two racing conditional writes cannot both win (as on S3).
      const existing = objects.get(key)
      const ifNoneMatch = req.headers['if-none-match']
      const ifMatch = req.headers['if-match']
      if (ifNoneMatch === '*' && existing) {
        stats.s3PreconditionFailed++
        return s3Error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold')
      }
      if (ifMatch !== undefined) {
        if (!existing) {
          stats.s3NotFound++
          return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.')
        }
        if (ifMatch !== '*' && ifMatch !== existing.etag) {
          stats.s3PreconditionFailed++
          return s3Error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold')
        }
      }
      const object = store(key, body, String(req.headers['content-type'] ?? 'binary/octet-stream'))
      res.writeHead(200, { etag: object.etag, 'content-length': 0, 'x-amz-request-id': 'bench' })
      res.end()
      return
    }

    if (method === 'GET' || method === 'HEAD') {
      if (method === 'GET') stats.s3Get++
      else stats.s3Head++
      const object = objects.get(key)
      if (!object) {
        stats.s3NotFound++
        if (method === 'HEAD') {
          res.writeHead(404)
          res.end()
          return
        }
        return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.')
      }
      const headers = {
        etag: object.etag,
        'content-type': object.contentType,
        'content-length': object.body.length,
        'last-modified': object.lastModified,
        'x-amz-request-id': 'bench'
      }
      if (req.headers['if-none-match'] === object.etag) {
        res.writeHead(304, { etag: object.etag })
        res.end()
        return
      }
      res.writeHead(200, headers)
      res.end(method === 'GET' ? object.body : undefined)
      return
    }

    if (method === 'DELETE') {
      stats.s3Delete++
      objects.delete(key)
      res.writeHead(204)
      res.end()
      return
    }
    return unsupported(req, res, path)
  }

  const templates = new Map<string, string>()

  async function ses (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await readBody(req)
    if (req.method === 'POST' && path === '/v2/email/outbound-emails') {
      if (!maySend()) {
        stats.sesThrottled++
        res.writeHead(429, {
          'content-type': 'application/json',
          'content-length': THROTTLED_REPLY.length,
          'x-amzn-ErrorType': 'TooManyRequestsException',
          'x-amzn-requestid': 'bench'
        })
        res.end(THROTTLED_REPLY)
        return
      }
      stats.sesSend++
      stats.sesLastSendAt = Date.now()
      stats.sesBytes += body.length
      const sent = JSON.parse(body.toString('utf8')) as { Destination?: { ToAddresses?: string[] } }
      stats.sesRecipients += sent.Destination?.ToAddresses?.length ?? 0
      const reply = `{"MessageId":"bench-${(++messageCounter).toString(36)}"}`
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': reply.length, 'x-amzn-requestid': 'bench' })
      res.end(reply)
      return
    }
    // Stored templates, as SES keeps them: leadlink stores its email once and then sends only data.
    const template = /^\/v2\/email\/templates\/([^/]+)$/.exec(path)
    if (req.method === 'GET' && template) {
      const found = templates.get(decodeURIComponent(template[1] as string))
      const reply = found ?? '{"message":"Template does not exist"}'
      res.writeHead(found ? 200 : 404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply), ...(found ? {} : { 'x-amzn-errortype': 'NotFoundException' }) })
      res.end(reply)
      return
    }
    if (req.method === 'POST' && path === '/v2/email/templates') {
      const parsed = JSON.parse(body.toString('utf8')) as { TemplateName: string }
      templates.set(parsed.TemplateName, body.toString('utf8'))
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 })
      res.end('{}')
      return
    }
    if (req.method === 'GET' && path === '/v2/email/account') {
      stats.sesGetAccount++
      // The throttle's rate, or unthrottled a generous quota: the bench then measures the service, not SES's limits.
      const reply = JSON.stringify({
        SendQuota: { MaxSendRate: limits.maxSendRate, Max24HourSend: 1e6, SentLast24Hours: 0 },
        SendingEnabled: true,
        ProductionAccessEnabled: true,
        EnforcementStatus: 'HEALTHY'
      })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': reply.length })
      res.end(reply)
      return
    }
    stats.sesOther++
    const reply = '{"message":"The bench stand-in does not implement this request."}'
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': reply.length, 'x-amzn-errortype': 'NotFoundException' })
    res.end(reply)
  }

  async function control (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await readBody(req)
    // ses: POST sets SES's sending limits from a JSON body ({"sendRate":100}; {} lifts them), GET reads
    // them; they last until set again (reset and wipe keep them).
    if (path === '/__bench/ses') {
      const reply = JSON.stringify(req.method === 'POST' ? limitSes(body.length > 0 ? JSON.parse(body.toString('utf8')) as Partial<SesLimits> : {}) : limits)
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) })
      res.end(reply)
      return
    }
    // reset: counters only (a running server may still own objects, an outbox say);
    // wipe: counters and objects, back to the seed, for when no server is running.
    if (req.method === 'POST' && (path === '/__bench/reset' || path === '/__bench/wipe')) {
      stats = emptyStats()
      if (path === '/__bench/wipe') seed()
    }
    const reply = JSON.stringify({ ...stats, objects: objects.size })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) })
    res.end(reply)
  }

  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1))
    const latency = options.s3LatencyMs ?? 0
    const handle = path.startsWith('/v2/email/')
      ? ses(req, res, path)
      : path.startsWith('/__bench/')
        ? control(req, res, path)
        : latency > 0 ? new Promise(resolve => setTimeout(resolve, latency)).then(() => s3(req, res, path, query)) : s3(req, res, path, query)
    handle.catch(err => {
      if (!res.headersSent) s3Error(res, 500, 'InternalError', String(err))
      else res.destroy()
    })
  })
  // Longer than the SDK keeps idle sockets, so the server never closes one the client is about to reuse.
  server.keepAliveTimeout = 120_000
  server.headersTimeout = 121_000

  seed()
  limitSes(options.ses ?? {})
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        stats: () => ({ ...stats, objects: objects.size }),
        reset: () => {
          stats = emptyStats()
        },
        wipe: () => {
          stats = emptyStats()
          seed()
        },
        limitSes,
        close: () => new Promise<void>(resolve => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
      })
    })
  })
}

// As a child process: prints {"port":N} once listening, and exits when its parent closes stdin.
// --ses-send-rate N throttles SendEmail at N per second; --ses-max-send-rate N is what GetAccount reports.
if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      bucket: { type: 'string', default: BENCH_BUCKET },
      'ses-send-rate': { type: 'string' },
      'ses-max-send-rate': { type: 'string' }
    }
  })
  const ses: Partial<SesLimits> = {
    ...(values['ses-send-rate'] ? { sendRate: Number(values['ses-send-rate']) } : {}),
    ...(values['ses-max-send-rate'] ? { maxSendRate: Number(values['ses-max-send-rate']) } : {})
  }
  const standIns = await startStandIns({ port: Number(values.port), bucket: values.bucket, ses })
  process.stdout.write(`${JSON.stringify({ port: standIns.port })}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
  process.stdin.on('error', () => process.exit(0))
}
