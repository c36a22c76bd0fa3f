// /metrics: Prometheus text with request latency per route pattern (never a raw URL: tokens sit in
// paths) and the app's counters; served by the private listener, and on the public port only to a
// bearer of METRICS_TOKEN (anyone else gets the 404 of an unknown URL); METRICS_ENABLED=false turns it off.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { buildApp, type App } from '../../src/app.ts'
import { createMetrics, hasMetricsToken } from '../../src/http/plugins/metrics.ts'
import { MetricsPortInUse, startMetricsServer } from '../../src/http/metrics-server.ts'
import { reconfigure } from '../../src/config.ts'
import { isolateNetwork, startEmulators, type Teardown } from '../helper.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_POST = { 'content-type': 'application/json', accept: 'application/json' }
const TOKEN = 'metrics-token-for-tests-0123456789abcdef'
const BEARER = { authorization: `Bearer ${TOKEN}` }

async function setup (t: Teardown, overrides: Record<string, string> = {}) {
  const stack = await startEmulators(t, { CATALOG_REFRESH_SECONDS: '0', ...overrides })
  const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => app.close())
  await app.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })
  return app
}

/** The value of one series in Prometheus text format, or undefined if absent. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

t.test('signups by outcome, fresh links minted, latency by route pattern', async t => {
  isolateNetwork(t)
  const app = await setup(t, { RATE_LIMIT_PER_IP_PER_MINUTE: '3', METRICS_TOKEN: TOKEN })
  const ip = { remoteAddress: '192.0.2.10' }
  t.equal((await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: 'email=ann%40example.com', ...ip })).statusCode, 303)
  t.equal((await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: 'email=nope', ...ip })).statusCode, 422)
  t.equal((await app.inject({ method: 'POST', url: '/subscribe', headers: JSON_POST, payload: '{}', ...ip })).statusCode, 422)
  t.equal((await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: 'email=bob%40example.com', ...ip })).statusCode, 429)
  t.equal((await app.inject({ method: 'POST', url: '/subscribe', headers: JSON_POST, payload: '{"email":"cy@example.com","slug":"no-such-paper"}', remoteAddress: '192.0.2.11' })).statusCode, 404)

  const { renewUrl } = app.recipientLinks.forEmail(app.subscribers.keyOf('ann@example.com'), 'default')
  const token = renewUrl.split('/d/')[1]!
  for (let i = 0; i < 2; i++) t.equal((await app.inject({ url: `/d/${token}`, remoteAddress: `192.0.2.${20 + i}` })).statusCode, 302)
  t.equal((await app.inject({ url: '/no/such/page-with-a-secret-path' })).statusCode, 404)

  const res = await app.inject({ url: '/metrics', headers: BEARER })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.equal(res.headers['cache-control'], 'no-store')
  const text = res.body
  t.equal(sample(text, 'leadlink_signups_total{outcome="queued"}'), 1)
  t.equal(sample(text, 'leadlink_signups_total{outcome="invalid"}'), 2)
  t.equal(sample(text, 'leadlink_signups_total{outcome="rate_limited"}'), 1)
  t.equal(sample(text, 'leadlink_signups_total{outcome="rejected"}'), 1, 'an unknown whitepaper')
  t.equal(sample(text, 'leadlink_signups_total{outcome="failed"}'), 0)
  t.equal(sample(text, 'leadlink_links_minted_total{kind="fresh"}'), 2)

  t.equal(sample(text, 'http_request_duration_seconds_count{method="POST",route="/subscribe",status_code="303"}'), 1)
  t.equal(sample(text, 'http_request_duration_seconds_count{method="POST",route="/subscribe",status_code="422"}'), 2)
  t.equal(sample(text, 'http_request_duration_seconds_count{method="GET",route="/d/:token",status_code="302"}'), 2)
  t.ok(sample(text, 'http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/d/:token",status_code="302"}'), 'a histogram, with buckets')
  t.notMatch(text, token, 'no token in any label')
  t.notMatch(text, 'secret-path', 'unknown URLs are not labelled')
  t.notMatch(text, /route="\/metrics"/, 'scrapes are not timed')
  t.notMatch(text, 'http_request_summary_seconds', 'latency is a histogram only (summaries cannot be summed across instances)')
  t.match(text, /^process_cpu_user_seconds_total /m, 'process metrics')
  t.match(text, /^nodejs_eventloop_lag_seconds /m)
})

t.test('the counters the sender uses: emails sent and failed, links minted', async t => {
  const metrics = createMetrics()
  metrics.emailSent()
  metrics.emailSent()
  metrics.emailFailed('Throttling')
  metrics.emailFailed('MessageRejected')
  metrics.emailFailed('Throttling')
  metrics.emailFailed('bounced for jane@example.com')
  metrics.linkMinted('email')
  const text = await metrics.registry.metrics()
  t.equal(sample(text, 'leadlink_emails_sent_total'), 2)
  t.equal(sample(text, 'leadlink_emails_failed_total{reason="Throttling"}'), 2)
  t.equal(sample(text, 'leadlink_emails_failed_total{reason="MessageRejected"}'), 1)
  t.equal(sample(text, 'leadlink_emails_failed_total{reason="other"}'), 1, 'free text never becomes a label')
  t.notMatch(text, 'jane')
  t.equal(sample(text, 'leadlink_links_minted_total{kind="email"}'), 1)
  t.equal(sample(text, 'leadlink_links_minted_total{kind="fresh"}'), 0, 'known series start at zero')
})

t.test('each app has its own registry (several apps per process: tests, Lambda)', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t)
  const a = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => a.close())
  const b = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => b.close())
  await a.inject({ url: '/healthz' })
  const textA = await a.appMetrics.registry.metrics()
  const textB = await b.appMetrics.registry.metrics()
  t.equal(sample(textA, 'http_request_duration_seconds_count{method="GET",route="/healthz",status_code="200"}'), 1)
  t.equal(sample(textB, 'http_request_duration_seconds_count{method="GET",route="/healthz",status_code="200"}'), undefined)
})

t.test('METRICS_ENABLED=false: no /metrics, the counters still callable', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t, { METRICS_ENABLED: 'false' })
  const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 404)
  t.doesNotThrow(() => app.appMetrics.signup('queued'))
})

/** What a client sees of a response: status, body and every header but the date. */
async function seen (app: App, method: 'GET' | 'HEAD', url: string, headers: Record<string, string>) {
  const res = await app.inject({ method, url, headers })
  const { date: _date, ...rest } = res.headers
  return { status: res.statusCode, body: res.body, headers: rest }
}

t.test('the public port: /metrics is the 404 of an unknown URL unless the request bears METRICS_TOKEN', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t)
  const build = async (config: typeof stack.config) => {
    const app = await buildApp(config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
    t.teardown(() => app.close())
    return app
  }
  const plain = await build(stack.config)
  const guarded = await build(reconfigure(stack.config, { METRICS_TOKEN: TOKEN }))
  const refused = [undefined, 'Bearer', 'Bearer wrong', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN.toUpperCase()}`, `Basic ${TOKEN}`, TOKEN]
  for (const method of ['GET', 'HEAD'] as const) {
    for (const accept of ['text/html', 'application/json', '*/*']) {
      const unknown = await seen(plain, method, '/no-such-page', { accept })
      t.equal(unknown.status, 404)
      t.same(await seen(plain, method, '/metrics', { accept }), unknown, `${method} ${accept}: no token configured`)
      t.same(await seen(plain, method, '/metrics', { accept, ...BEARER }), unknown, `${method} ${accept}: a bearer, but no token configured`)
      t.same(await seen(guarded, method, '/no-such-page', { accept }), unknown)
      for (const authorization of refused) {
        t.same(await seen(guarded, method, '/metrics', { accept, ...(authorization === undefined ? {} : { authorization }) }), unknown,
          `${method} ${accept}: ${authorization === undefined ? 'no Authorization' : authorization.replace(TOKEN, '<token>')}`)
      }
    }
  }
  const res = await guarded.inject({ url: '/metrics', headers: BEARER })
  t.equal(res.statusCode, 200, 'the right bearer token reads the metrics')
  t.match(res.body, /^leadlink_signups_total\{outcome="queued"\} 0$/m)
  t.equal((await guarded.inject({ url: '/metrics', headers: { authorization: `bearer ${TOKEN}` } })).statusCode, 200, 'the scheme is case-insensitive (RFC 7235)')
})

t.test('hasMetricsToken: only the configured token, after "Bearer "', async t => {
  t.ok(hasMetricsToken(`Bearer ${TOKEN}`, TOKEN))
  t.notOk(hasMetricsToken(`Bearer ${TOKEN}`, undefined), 'nothing configured: nothing is accepted')
  t.notOk(hasMetricsToken(undefined, TOKEN))
  t.notOk(hasMetricsToken('Bearer ', TOKEN))
  t.notOk(hasMetricsToken(`Token ${TOKEN}`, TOKEN))
})

t.test('the private listener serves /metrics on a loopback port; counters still count', async t => {
  isolateNetwork(t)
  const app = await setup(t)
  t.equal((await app.inject({ method: 'POST', url: '/subscribe', headers: JSON_POST, payload: '{"email":"dee@example.com"}', remoteAddress: '192.0.2.30' })).statusCode, 202)
  const server = await startMetricsServer({ registry: app.appMetrics.registry, host: '127.0.0.1', port: 0 })
  let closed = false
  t.teardown(async () => { if (!closed) await server.close() })
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)

  const res = await fetch(server.url)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  t.equal(res.headers.get('cache-control'), 'no-store')
  const text = await res.text()
  t.equal(sample(text, 'leadlink_signups_total{outcome="queued"}'), 1)
  t.equal(sample(text, 'http_request_duration_seconds_count{method="POST",route="/subscribe",status_code="202"}'), 1)
  t.match(text, /^leadlink_outbox_pending \d+$/m, 'the outbox gauge')
  t.notMatch(text, 'leadlink_outbox_depth', 'one gauge for one number')
  t.equal((await fetch(server.url, { method: 'HEAD' })).status, 200)
  t.equal((await fetch(server.url.replace(/metrics$/, ''))).status, 404, 'nothing else is served')
  t.equal((await fetch(server.url, { method: 'POST' })).status, 404)

  const port = Number(new URL(server.url).port)
  const busy = startMetricsServer({ registry: app.appMetrics.registry, host: '127.0.0.1', port })
  await t.rejects(busy, MetricsPortInUse, 'a busy port is its own error')
  await t.rejects(busy, { message: new RegExp(`^METRICS_PORT ${port} \\(the /metrics listener on 127\\.0\\.0\\.1\\) is already in use\\. .*METRICS_PORT=0`) })

  await server.close()
  closed = true
  await t.rejects(fetch(server.url), 'closed')
})
