// The AWS clients as the app makes them: one signer per auth scheme instead of one per request
// (shareSigner) and a SHA-256 class with prepared keys (Sha256). Every request is still signed
// correctly (an independent SigV4 verifier below), also when the credentials rotate.
import t from 'tap'
import { createHash, createHmac } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { SendEmailCommand } from '@aws-sdk/client-sesv2'
import type { AuthScheme, RequestSigner } from '@aws-sdk/types'
import { createAwsClients, shareSigner } from '../../src/aws/clients.ts'
import { Sha256 } from '../../src/aws/sha256.ts'
import { testConfig } from '../helper.ts'

interface Captured { method: string, url: string, headers: http.IncomingHttpHeaders, body: Buffer }

const captured: Captured[] = []
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    captured.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) })
    if (req.url?.startsWith('/v2/')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"MessageId":"m-1"}')
    } else if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json', etag: '"e1"' }).end('{}')
    } else {
      res.writeHead(200, { etag: '"e1"' }).end()
    }
  })
})
await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => server.close())
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const secrets = new Map([['AKIDROTATEONE', 'first-secret'], ['AKIDROTATETWO', 'second-secret']])

/** SigV4 as AWS documents it (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), written apart from the SDK. */
function verify (request: Captured, service: string): { ok: boolean, accessKeyId: string } {
  const auth = String(request.headers.authorization)
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth)
  if (!match) return { ok: false, accessKeyId: '' }
  const [, accessKeyId = '', day = '', region = '', scopeService, signedHeaders = '', signature] = match
  const secret = secrets.get(accessKeyId)
  if (!secret || scopeService !== service) return { ok: false, accessKeyId }
  const url = new URL(request.url, 'http://x')
  const query = [...url.searchParams].map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)]).sort(([a = ''], [b = '']) => a < b ? -1 : 1).map(([k, v]) => `${k}=${v}`).join('&')
  const headers = signedHeaders.split(';').map(name => `${name}:${String(request.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('')
  const payload = String(request.headers['x-amz-content-sha256'] ?? createHash('sha256').update(request.body).digest('hex'))
  const canonical = [request.method, url.pathname, query, headers, signedHeaders, payload].join('\n')
  const amzDate = String(request.headers['x-amz-date'])
  const scope = `${day}/${region}/${service}/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n')
  let key: Buffer | string = `AWS4${secret}`
  for (const part of [day, region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest()
  return { ok: createHmac('sha256', key).update(toSign).digest('hex') === signature, accessKeyId }
}

t.test('S3 and SES requests are signed correctly by the shared signer, with rotating credentials', async t => {
  captured.length = 0
  let calls = 0
  // Expired at once: the SDK asks the provider again before every request.
  const credentials = async () => {
    calls++
    const accessKeyId = calls % 2 === 1 ? 'AKIDROTATEONE' : 'AKIDROTATETWO'
    return { accessKeyId, secretAccessKey: secrets.get(accessKeyId) ?? '', expiration: new Date(Date.now() - 1000) }
  }
  const config = testConfig({ S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true', SES_ENDPOINT: endpoint })
  const aws = createAwsClients(config, { credentials })
  t.teardown(() => aws.destroy())
  const bucket = config.aws.s3.bucket
  for (let i = 0; i < 3; i++) {
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `subscribers/a b+${i}.json`, Body: `{"n":${i}}`, ContentType: 'application/json', IfNoneMatch: '*' }))
    await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: `subscribers/a b+${i}.json` }))
    await aws.ses.send(new SendEmailCommand({ FromEmailAddress: 'hello@leadlink.test', Destination: { ToAddresses: ['reader@example.com'] }, Content: { Simple: { Subject: { Data: 'Hi' }, Body: { Text: { Data: `n ${i}` } } } } }))
  }
  t.equal(captured.length, 9)
  const results = captured.map(request => verify(request, request.url.startsWith('/v2/') ? 'ses' : 's3'))
  t.same(results.map(r => r.ok), Array(9).fill(true), 'every signature verifies')
  t.same(new Set(results.map(r => r.accessKeyId)), new Set(['AKIDROTATEONE', 'AKIDROTATETWO']), 'each request signed with the credentials of its time')

  // The verifier is not a rubber stamp: one changed byte of the signed request fails it.
  const [first] = captured
  if (first === undefined) throw new Error('nothing captured')
  t.equal(verify({ ...first, method: 'DELETE' }, 's3').ok, false)
  t.equal(verify({ ...first, headers: { ...first.headers, 'x-amz-date': '20200101T000000Z' } }, 's3').ok, false)
})

t.test('one signer is built per auth scheme, and a failed build is tried again', async t => {
  const built: Array<AuthScheme | undefined> = []
  let fail = false
  const client = {
    config: {
      signer: async (authScheme?: AuthScheme): Promise<RequestSigner> => {
        built.push(authScheme)
        if (fail) throw new Error('no region')
        return { sign: async request => request }
      }
    }
  }
  shareSigner(client)
  const sigv4 = { name: 'sigv4', signingName: 's3', signingRegion: 'us-east-1', properties: {} } as AuthScheme
  const [a, b] = await Promise.all([client.config.signer(sigv4), client.config.signer({ ...sigv4 })])
  t.equal(a, b, 'the same signer for the same scheme')
  t.equal(built.length, 1)
  const other = await client.config.signer({ ...sigv4, signingRegion: 'eu-west-1' })
  t.not(other, a, 'another region, another signer')
  t.equal(built.length, 2)
  t.equal(await client.config.signer(sigv4), a, 'the same scheme object again')
  t.equal(built.length, 2)
  fail = true
  const ses = { ...sigv4, signingName: 'ses' }
  await t.rejects(client.config.signer(ses), /no region/)
  fail = false
  await client.config.signer(ses)
  t.equal(built.length, 4, 'the failed build is not kept, not even for the same scheme object')
})

t.test('Sha256 gives what node:crypto gives, for hashes and HMACs with string and binary keys', async t => {
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
  const hash = new Sha256()
  hash.update('hello ')
  hash.update(new TextEncoder().encode('wor'))
  hash.update(new TextEncoder().encode('ld').buffer)
  t.equal(hex(await hash.digest()), createHash('sha256').update('hello world').digest('hex'), 'strings, typed arrays and ArrayBuffers')
  hash.update('!')
  t.equal(hex(await hash.digest()), createHash('sha256').update('hello world!').digest('hex'), 'a plain hash goes on after a digest')

  const binaryKey = new Uint8Array(createHash('sha256').update('the day\'s signing key').digest())
  for (const [name, key] of [['string', 'secret-access-key'], ['binary', binaryKey], ['binary again (its KeyObject reused)', binaryKey], ['the same bytes in another array', new Uint8Array(binaryKey)]] as const) {
    const mac = new Sha256(key)
    mac.update('string to sign')
    t.equal(hex(await mac.digest()), createHmac('sha256', typeof key === 'string' ? key : Buffer.from(key)).update('string to sign').digest('hex'), name)
    t.throws(() => mac.update('more'), /already finished/)
    mac.reset()
    mac.update('after reset')
    t.equal(hex(await mac.digest()), createHmac('sha256', typeof key === 'string' ? key : Buffer.from(key)).update('after reset').digest('hex'), `${name}, after reset`)
  }
})
