// Benchmark stand-ins for S3 (path style, in memory, conditional writes) and SES v2 (optionally throttled as
// SES throttles), with request counters, on one local port. Fast on purpose: the bench measures the
// service in front of it, so this must never be the bottleneck. Run as a file, it is the bench's
// stand-in process (see the end); imported, it only exports.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { parseArgs } from 'node:util'
import { handleS3, s3Error, storeObject } from './stand-in-s3.ts'
import { handleSes, limitSes, UNTHROTTLED_MAX_SEND_RATE } from './stand-in-ses.ts'

export const BENCH_BUCKET = 'bench-bucket'
export const BENCH_PDF_KEY = 'whitepapers/default/versions/v1/paper.pdf'

/** What `whitepapers/default/current.json` holds when the stand-in starts or is wiped. */
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

export interface StoredObject {
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

/** Everything the S3 and SES handlers share. */
export interface StandInState {
  bucket: string
  objects: Map<string, StoredObject>
  stats: StandInStats
  etagCounter: number
  messageCounter: number
  limits: SesLimits
  sendBucket: { tokens: number, at: number }
  templates: Map<string, string>
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

function readBody (req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function seed (state: StandInState): void {
  state.objects.clear()
  storeObject(state, 'whitepapers/default/current.json', Buffer.from(JSON.stringify(SEED_POINTER)), 'application/json')
  storeObject(state, BENCH_PDF_KEY, Buffer.from('%PDF-1.4\n% bench stand-in\n'), 'application/pdf')
}

/**
 * The bench's own requests, under /__bench/. ses: POST sets SES's sending limits from a JSON body
 * ({"sendRate":100}; {} lifts them), GET reads them; they last until set again. reset zeroes the
 * counters only (a running server may still own objects, an outbox say); wipe restores the seed too,
 * for when no server is running. Every other path answers the counters.
 */
function control (state: StandInState, method: string, path: string, body: Buffer): string {
  if (path === '/__bench/ses') {
    return JSON.stringify(method === 'POST' ? limitSes(state, body.length > 0 ? JSON.parse(body.toString('utf8')) as Partial<SesLimits> : {}) : state.limits)
  }
  if (method === 'POST' && (path === '/__bench/reset' || path === '/__bench/wipe')) {
    state.stats = emptyStats()
    if (path === '/__bench/wipe') seed(state)
  }
  return JSON.stringify({ ...state.stats, objects: state.objects.size })
}

/** `s3LatencyMs`: each S3 answer waits this long first, as a round trip to S3 in the same region does (default 0). */
export function startStandIns (options: { port?: number, host?: string, bucket?: string, ses?: Partial<SesLimits>, s3LatencyMs?: number } = {}): Promise<StandIns> {
  const state: StandInState = {
    bucket: options.bucket ?? BENCH_BUCKET,
    objects: new Map(),
    stats: emptyStats(),
    etagCounter: 0,
    messageCounter: 0,
    limits: { sendRate: 0, maxSendRate: UNTHROTTLED_MAX_SEND_RATE },
    sendBucket: { tokens: 0, at: 0 },
    templates: new Map()
  }
  const latency = options.s3LatencyMs ?? 0
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1))
    readBody(req).then(async body => {
      if (path.startsWith('/v2/email/')) {
        handleSes(state, req, res, path, body)
        return
      }
      if (path.startsWith('/__bench/')) {
        const reply = control(state, req.method ?? 'GET', path, body)
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) })
        res.end(reply)
        return
      }
      if (latency > 0) await new Promise(resolve => setTimeout(resolve, latency))
      handleS3(state, req, res, path, query, body)
    }).catch(err => {
      if (!res.headersSent) s3Error(res, 500, 'InternalError', String(err))
      else res.destroy()
    })
  })
  // Longer than the SDK keeps idle sockets, so the server never closes one the client is about to reuse.
  server.keepAliveTimeout = 120_000
  server.headersTimeout = 121_000

  seed(state)
  limitSes(state, options.ses ?? {})
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        stats: () => ({ ...state.stats, objects: state.objects.size }),
        reset: () => { state.stats = emptyStats() },
        wipe: () => {
          state.stats = emptyStats()
          seed(state)
        },
        limitSes: limits => limitSes(state, limits),
        close: () => new Promise<void>(resolve => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
      })
    })
  })
}

/**
 * The stand-in process: prints {"port":N} once listening, and exits when its parent closes stdin.
 * --ses-send-rate N throttles SendEmail at N per second; --ses-max-send-rate N is what GetAccount reports.
 */
export async function standInProcess (argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
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

if (import.meta.main) await standInProcess(process.argv.slice(2))
