// The outbox worker against nock: exact retry behaviour on throttling and 5xx, and giving up cleanly.
import t from 'tap'
import nock from 'nock'
import { build, eventually, S3_HOST, SES_HOST, testConfig } from '../helper.ts'
import { capture, mockDeliveryLog, mockPut, newAddressMocks, type recorder, type Captured } from '../aws-mocks.ts'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

/** Outbox writes of every kind (create and checkpoints) are accepted and recorded. */
function mockOutboxAll (rec: ReturnType<typeof recorder>) {
  const writes: Captured[] = []
  let n = 0
  const scope = nock(S3_HOST).put(/^\/outbox\//).query(true).reply(() => [200, '', { ETag: `"batch-${++n}"` }]).persist()
  scope.on('request', (req: Request, _i: unknown, body: string) => {
    if (req.method === 'PUT') writes.push({ path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers.entries()), body: JSON.parse(body) })
  })
  nock(S3_HOST).delete(/^\/outbox\//).query(true).reply((req: Request) => {
    rec.outboxDeletes.push(new URL(req.url).pathname)
    return [204, '']
  })
  return writes
}

/** SES answers with each status in turn, recording when each call came. */
function sesSequence (rec: ReturnType<typeof recorder>, answers: Array<[number, string]>) {
  const times: number[] = []
  for (const [status, type] of answers) {
    const scope = nock(SES_HOST).post('/v2/email/outbound-emails').reply(() => {
      times.push(Date.now())
      return status === 200
        ? [200, { MessageId: `msg-${times.length}` }, { 'Content-Type': 'application/json' }]
        : [status, { __type: type, message: type === 'TooManyRequestsException' ? 'Maximum sending rate exceeded.' : 'Service unavailable' }, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': type }]
    })
    capture(scope, rec.sesSends, 'POST')
  }
  return times
}

t.test('throttling, then a 5xx, then success: three attempts with backoff, one email, recorded as sent', async t => {
  const rec = newAddressMocks(t)
  const writes = mockOutboxAll(rec)
  const times = sesSequence(rec, [[429, 'TooManyRequestsException'], [503, 'ServiceUnavailable'], [200, '']])
  mockDeliveryLog(rec)
  const app = await build(t, testConfig({ SEND_MAX_ATTEMPTS: '3' }))
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: 'email=jane@example.com' })
  t.equal(res.statusCode, 303)
  await eventually(() => (rec.outboxDeletes.length === 1 && rec.logPuts.length === 1) || undefined, { timeoutMs: 15_000 })
  t.equal(rec.sesSends.length, 3, 'exactly three attempts')
  t.ok((times[1] as number) - (times[0] as number) >= 40, 'waited before the second attempt')
  t.ok((times[2] as number) - (times[1] as number) >= 40, 'waited before the third attempt')
  t.ok((times[2] as number) - (times[0] as number) < 3500, 'backoff stays within 0.5 s + 1 s (+ the throttling pause)')
  t.same(rec.sesSends.map(s => s.body.Destination.ToAddresses[0]), ['jane@example.com', 'jane@example.com', 'jane@example.com'])
  t.match(rec.logPuts[0]?.body.items, [{ outcome: 'sent', messageId: 'msg-3' }])
  t.equal(rec.s3Puts.length, 1, 'the subscriber record is written once, at signup')
  t.equal(writes[0]?.headers['if-none-match'], '*', 'the batch was created once')
  for (const w of writes.slice(1)) t.equal(w.headers['if-match']?.toString().startsWith('"batch-'), true, 'checkpoints are conditional')
  const stats = app.outbox.stats()
  t.equal(stats.sent, 1)
  t.equal(stats.retries, 2)
  t.equal(stats.throttled, 1)
  t.same(stats.failures, {})
  t.equal(stats.pending, 0)
  const metrics = await app.appMetrics.registry.metrics()
  t.match(metrics, /^leadlink_emails_sent_total 1$/m)
  t.match(metrics, /^leadlink_email_retries_total\{reason="throttled"\} 1$/m)
  t.match(metrics, /^leadlink_email_retries_total\{reason="http_503"\} 1$/m)
  t.match(metrics, /^leadlink_outbox_pending 0$/m)
  // The throttling answer halved this instance's rate (AIMD); it climbs back to the whole rate.
  const limit = () => Number(/^leadlink_send_rate_limit (\S+)$/m.exec(metrics)?.[1])
  t.ok(limit() >= 500 && limit() < 1000, `cut by the throttling answer (${limit()})`)
  await eventually(async () => /^leadlink_send_rate_limit 1000$/m.test(await app.appMetrics.registry.metrics()) || undefined)
  t.pass('and back to SES_MAX_SEND_RATE within seconds')
})

t.test('5xx every time: gives up after SEND_MAX_ATTEMPTS, records the failure, and the queue moves on', async t => {
  const rec = newAddressMocks(t)
  mockOutboxAll(rec)
  sesSequence(rec, [[500, 'InternalFailure'], [500, 'InternalFailure'], [500, 'InternalFailure']])
  mockPut(rec, 200, '"etag-2"')
  mockDeliveryLog(rec)
  const app = await build(t, testConfig({ SEND_MAX_ATTEMPTS: '3' }))
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: 'email=jane@example.com' })
  t.equal(res.statusCode, 303)
  await eventually(() => (rec.outboxDeletes.length === 1 && rec.s3Puts.length === 2) || undefined, { timeoutMs: 15_000 })
  t.equal(rec.sesSends.length, 3, 'no fourth attempt')
  t.match(rec.s3Puts[1]?.body.deliveries, [{ status: 'failed', error: 'retries_exhausted' }])
  t.same(app.outbox.stats().failures, { retries_exhausted: 1 })
  t.match(await app.appMetrics.registry.metrics(), /^leadlink_emails_failed_total\{reason="retries_exhausted"\} 1$/m)
  t.ok(nock.isDone())
})
