// The bench's S3 stand-in: path-style requests on objects held in memory, with conditional writes as S3
// has them since 2024 (If-None-Match: *, If-Match: etag) and the listing leadlink pages through.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { StandInState, StoredObject } from './stand-ins.ts'

export function xmlEscape (value: string): string {
  return value.replace(/[<>&'"]/g, c => `&#${c.charCodeAt(0)};`)
}

export function s3Error (res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><RequestId>bench</RequestId></Error>`
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 'bench' })
  res.end(body)
}

export function storeObject (state: StandInState, key: string, body: Buffer, contentType: string): StoredObject {
  const object = { body, etag: `"${(++state.etagCounter).toString(16).padStart(32, '0')}"`, contentType, lastModified: new Date().toUTCString() }
  state.objects.set(key, object)
  return object
}

function unsupported (state: StandInState, req: IncomingMessage, res: ServerResponse, path: string): void {
  const { stats } = state
  stats.unsupported++
  const sample = `${req.method} ${path}`
  if (stats.unsupportedSamples.length < 10 && !stats.unsupportedSamples.includes(sample)) stats.unsupportedSamples.push(sample)
  s3Error(res, 501, 'NotImplemented', 'The bench stand-in does not implement this request.')
}

function listObjects (state: StandInState, res: ServerResponse, query: URLSearchParams): void {
  state.stats.s3List++
  const prefix = query.get('prefix') ?? ''
  const after = query.get('continuation-token') ?? query.get('start-after') ?? ''
  const max = Math.min(Number(query.get('max-keys') ?? 1000) || 1000, 1000)
  const keys = [...state.objects.keys()].filter(k => k.startsWith(prefix) && k > after).sort()
  const page = keys.slice(0, max)
  const truncated = keys.length > page.length
  const contents = page.map(k => {
    const o = state.objects.get(k) as StoredObject
    return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${new Date(o.lastModified).toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`
  }).join('')
  const next = truncated ? `<NextContinuationToken>${xmlEscape(page[page.length - 1] ?? '')}</NextContinuationToken>` : ''
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>${state.bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`
  res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

function put (state: StandInState, req: IncomingMessage, res: ServerResponse, key: string, body: Buffer): void {
  const { stats } = state
  stats.s3Put++
  stats.s3PutBytes += body.length
  // Checked and written in one synchronous step, so two racing conditional writes cannot both win (as on S3).
  const existing = state.objects.get(key)
  const ifNoneMatch = req.headers['if-none-match']
  const ifMatch = req.headers['if-match']
  if (ifNoneMatch === '*' && existing) {
    stats.s3PreconditionFailed++
    s3Error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold')
    return
  }
  if (ifMatch !== undefined) {
    if (!existing) {
      stats.s3NotFound++
      s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.')
      return
    }
    if (ifMatch !== '*' && ifMatch !== existing.etag) {
      stats.s3PreconditionFailed++
      s3Error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold')
      return
    }
  }
  const object = storeObject(state, key, body, String(req.headers['content-type'] ?? 'binary/octet-stream'))
  res.writeHead(200, { etag: object.etag, 'content-length': 0, 'x-amz-request-id': 'bench' })
  res.end()
}

function get (state: StandInState, method: 'GET' | 'HEAD', req: IncomingMessage, res: ServerResponse, key: string): void {
  const { stats } = state
  if (method === 'GET') stats.s3Get++
  else stats.s3Head++
  const object = state.objects.get(key)
  if (!object) {
    stats.s3NotFound++
    if (method === 'HEAD') {
      res.writeHead(404)
      res.end()
      return
    }
    s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.')
    return
  }
  if (req.headers['if-none-match'] === object.etag) {
    res.writeHead(304, { etag: object.etag })
    res.end()
    return
  }
  res.writeHead(200, {
    etag: object.etag,
    'content-type': object.contentType,
    'content-length': object.body.length,
    'last-modified': object.lastModified,
    'x-amz-request-id': 'bench'
  })
  res.end(method === 'GET' ? object.body : undefined)
}

/** One S3 request, its body already read. */
export function handleS3 (state: StandInState, req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, body: Buffer): void {
  const slash = path.indexOf('/', 1)
  const bucketName = slash === -1 ? path.slice(1) : path.slice(1, slash)
  const key = slash === -1 ? '' : decodeURIComponent(path.slice(slash + 1))
  if (bucketName !== state.bucket) {
    s3Error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist')
    return
  }
  const method = req.method ?? 'GET'

  if (key === '') {
    if (method === 'HEAD') {
      res.writeHead(200, { 'x-amz-bucket-region': 'us-east-1' })
      res.end()
      return
    }
    if (method === 'GET' && query.get('list-type') === '2') {
      listObjects(state, res, query)
      return
    }
    unsupported(state, req, res, path)
    return
  }
  if (method === 'PUT' && !req.headers['x-amz-copy-source']) {
    put(state, req, res, key, body)
    return
  }
  if (method === 'GET' || method === 'HEAD') {
    get(state, method, req, res, key)
    return
  }
  if (method === 'DELETE') {
    state.stats.s3Delete++
    state.objects.delete(key)
    res.writeHead(204)
    res.end()
    return
  }
  unsupported(state, req, res, path)
  return
}
