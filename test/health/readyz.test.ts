// /readyz against the real emulators: ready when S3 and SES answer; 503 naming what failed, with
// error names only, when the bucket is missing, SES hangs or refuses connections, or an added check fails.
import t from 'tap'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { buildApp } from '../../src/app.ts'
import { reconfigure, type Config } from '../../src/config.ts'
import { isolateNetwork, startEmulators, type Teardown } from '../helper.ts'

async function appFor (t: Teardown, config: Config, credentials: { accessKeyId: string, secretAccessKey: string }) {
  const app = await buildApp(config, { clientOptions: { credentials } }, { logger: false })
  t.teardown(() => app.close())
  return app
}

/** A loopback SES that answers GetAccount until `hang()`, then accepts requests and never answers. */
async function hangingSes (t: Teardown): Promise<{ url: string, hang: () => void }> {
  let hanging = false
  const server: Server = createServer((_req, res) => {
    if (hanging) return
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ SendQuota: { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 0 }, SendingEnabled: true, ProductionAccessEnabled: false }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hang: () => { hanging = true } }
}

/** A loopback port with nothing listening (bound, then released). */
async function closedPort (): Promise<string> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

t.test('ready: S3 and SES both answer', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t)
  const app = await appFor(t, stack.config, stack.credentials)
  const res = await app.inject({ url: '/readyz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ready', checks: { s3: 'ok', ses: 'ok' } })
  t.equal(res.headers['cache-control'], 'no-store')
})

t.test('a missing bucket: 503 names S3 and the error, nothing else', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t)
  const app = await appFor(t, reconfigure(stack.config, { S3_BUCKET: 'no-such-leadlink-bucket', SES_FROM: 'hello@leadlink.test' }), stack.credentials)
  const res = await app.inject({ url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'unavailable', checks: { s3: 'failed', ses: 'ok' }, errors: { s3: 'NotFound' } })
  t.notMatch(res.body, 'no-such-leadlink-bucket', 'the bucket name is not echoed')
})

t.test('SES hangs: the check times out after READY_TIMEOUT_MS instead of hanging the probe', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t)
  const ses = await hangingSes(t)
  const app = await appFor(t, reconfigure(stack.config, { SES_ENDPOINT: ses.url, READY_TIMEOUT_MS: '300' }), stack.credentials)
  await app.ready()
  t.same((await app.inject({ url: '/readyz' })).json(), { status: 'ready', checks: { s3: 'ok', ses: 'ok' } })
  ses.hang()
  const res = await app.inject({ url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'unavailable', checks: { s3: 'ok', ses: 'timeout' }, errors: { ses: 'Timeout' } })
})

t.test('SES refuses connections: failed, with the error code', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t)
  const app = await appFor(t, reconfigure(stack.config, { SES_ENDPOINT: await closedPort() }), stack.credentials)
  const res = await app.inject({ url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'unavailable', checks: { s3: 'ok', ses: 'failed' }, errors: { ses: 'ECONNREFUSED' } })
})

t.test('other features add checks; a failing one turns readiness off without leaking its message', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t)
  const app = await appFor(t, stack.config, stack.credentials)
  let depth = 0
  app.readiness.add('queue', async () => {
    if (depth > 100) throw Object.assign(new Error('backlog of 101 for jane@example.com with key AKIDSECRET'), { name: 'QueueBacklog' })
  })
  t.throws(() => app.readiness.add('queue', async () => {}), /already registered/)
  t.same((await app.inject({ url: '/readyz' })).json(), { status: 'ready', checks: { s3: 'ok', ses: 'ok', queue: 'ok' } })
  depth = 101
  const res = await app.inject({ url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'unavailable', checks: { s3: 'ok', ses: 'ok', queue: 'failed' }, errors: { queue: 'QueueBacklog' } })
  t.notMatch(res.body, /jane|AKID|backlog of/)
})

t.test('liveness never touches AWS', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t)
  const app = await appFor(t, reconfigure(stack.config, { S3_ENDPOINT: await closedPort(), SES_ENDPOINT: await closedPort() }), stack.credentials)
  const res = await app.inject({ url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})
