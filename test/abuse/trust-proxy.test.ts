// Client IPs behind a proxy: X-Forwarded-For counts only when TRUST_PROXY says whom to believe, both
// for the consent record's IP and for the per-IP rate limit.
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { buildApp, type App } from '../../src/app.ts'
import { reconfigure } from '../../src/config.ts'
import { keyOf } from '../aws-mocks.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { startEmulators, testConfig } from '../helper.ts'
import { JSON_ACCEPT } from './support.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
const LIMIT = 3

const stack = await startEmulators(t, { BOT_MIN_FILL_SECONDS: '0', ADDRESS_COOLDOWN_SECONDS: '0' })
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())

async function appWith (trustProxy: string): Promise<App> {
  const config = reconfigure(stack.config, { TRUST_PROXY: trustProxy, RATE_LIMIT_PER_IP_PER_MINUTE: String(LIMIT) })
  const app = await buildApp(config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => app.close())
  return app
}

const setup = await appWith('off')
await setup.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })

const unique = () => `proxy-${randomUUID().slice(0, 8)}@example.com`

async function signupIps (address: string): Promise<Array<string | undefined>> {
  const res = await s3.send(new GetObjectCommand({ Bucket: stack.config.aws.s3.bucket, Key: `subscribers/${keyOf(address, stack.config)}.json` }))
  return (JSON.parse(await res.Body!.transformToString()) as SubscriberRecord).signups.map(s => s.ip)
}

/** A signup through `socket` (what the TCP peer is) carrying `forwarded` as X-Forwarded-For. */
const signup = (app: App, socket: string, email: string, forwarded?: string) => app.inject({
  method: 'POST',
  url: '/subscribe',
  headers: { ...JSON_ACCEPT, ...(forwarded ? { 'x-forwarded-for': forwarded } : {}) },
  payload: { email },
  remoteAddress: socket
})

/** Statuses of n cheap requests (an invalid address: nothing is written) through `socket`. */
async function statuses (app: App, socket: string, forwarded: (i: number) => string | undefined, n = LIMIT + 1): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await signup(app, socket, 'not-an-address', forwarded(i))).statusCode)
  return out
}

const ALLOWED = Array.from({ length: LIMIT }, () => 422)

t.test('TRUST_PROXY=off: X-Forwarded-For is ignored for the record and the rate limit', async t => {
  const app = await appWith('off')
  const address = unique()
  t.equal((await signup(app, '10.0.0.5', address, '203.0.113.99')).statusCode, 202)
  t.same(await signupIps(address), ['10.0.0.5'], 'the record holds the socket address, not the claimed one')

  t.same(await statuses(app, '10.0.0.6', i => `203.0.113.${i + 1}`), [...ALLOWED, 429], 'a new X-Forwarded-For per request does not escape the limit')
  t.same(await statuses(app, '10.0.0.7', () => undefined, 1), [422], 'another socket address has its own count')
})

t.test('TRUST_PROXY=10.0.0.0/24 (the proxies\' network): the client address the proxy appended is recorded and limited', async t => {
  const app = await appWith('10.0.0.0/24')
  const proxy = '10.0.0.1'
  const address = unique()
  t.equal((await signup(app, proxy, address, '203.0.113.10')).statusCode, 202)
  t.same(await signupIps(address), ['203.0.113.10'], 'the record holds the forwarded client')

  const spoofer = unique()
  // The client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the address it saw.
  t.equal((await signup(app, proxy, spoofer, '6.6.6.6, 203.0.113.11')).statusCode, 202)
  t.same(await signupIps(spoofer), ['203.0.113.11'], 'only the hop the proxy added is believed')

  t.same(await statuses(app, proxy, () => '203.0.113.20'), [...ALLOWED, 429], 'one client behind the proxy is limited')
  t.same(await statuses(app, proxy, () => '203.0.113.21', LIMIT), ALLOWED, 'another client behind the same proxy is counted separately')
  t.same(await statuses(app, proxy, i => `198.18.0.${i}, 203.0.113.20`, 1), [429], 'prepending fake addresses does not reset a client\'s count')
})

t.test('TRUST_PROXY=127.0.0.1 (an address): X-Forwarded-For is believed from that proxy only', async t => {
  const app = await appWith('127.0.0.1')
  const viaProxy = unique()
  t.equal((await signup(app, '127.0.0.1', viaProxy, '203.0.113.30')).statusCode, 202)
  t.same(await signupIps(viaProxy), ['203.0.113.30'], 'from the trusted proxy: the forwarded client')

  const direct = unique()
  t.equal((await signup(app, '10.9.9.9', direct, '203.0.113.31')).statusCode, 202)
  t.same(await signupIps(direct), ['10.9.9.9'], 'from anyone else: the socket address')

  t.same(await statuses(app, '127.0.0.1', () => '203.0.113.40'), [...ALLOWED, 429], 'clients behind the proxy are limited one by one')
  t.same(await statuses(app, '127.0.0.1', () => '203.0.113.41', LIMIT), ALLOWED, 'separately')
  t.same(await statuses(app, '10.9.9.10', i => `203.0.113.${50 + i}`), [...ALLOWED, 429], 'an untrusted peer cannot rotate X-Forwarded-For to escape')
})

// Fastify (5.12+) cannot verify a hop count and ignores it; accepting one would silently give every
// visitor behind a load balancer the balancer's IP and one shared rate limit.
t.test('TRUST_PROXY=1 (a hop count) is refused at boot, naming the setting', async t => {
  t.throws(() => testConfig({ TRUST_PROXY: '1' }), /TRUST_PROXY must list the proxies' addresses or CIDRs, not a hop count/)
})
