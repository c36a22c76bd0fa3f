// The cost model (test/cost/model.ts) checked against the AWS calls the real app makes on the emulators.
import { readFile } from 'node:fs/promises'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import t, { type Test } from 'tap'
import { createAwsClients } from '../../src/aws/clients.ts'
import { createCatalog } from '../../src/whitepapers/catalog.ts'
import { reconfigure } from '../../src/config.ts'
import { build, eventually, extractLink, sentEmails, startEmulators } from '../helper.ts'
import { answered, type Call, countCalls, tally } from './count-aws.ts'
import { BYTES, CHECKPOINTS_PER_EMAIL, DOWNLOAD_CLICK, FRESH_LINK, PER_BATCH, PER_INSTANCE, PER_SIGNUP } from './model.ts'

const LONE = 5
const BURST = 200

const pdf = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
const stack = await startEmulators(t, {
  SES_TEMPLATES: 'on',
  SENDER: 'on',
  RATE_LIMIT_PER_IP_PER_MINUTE: '0',
  // The periodic scan and catalog refresh are per-instance costs (model.ts PER_INSTANCE), not per
  // signup: once each at start here, so that what follows is the signups' own.
  OUTBOX_SCAN_SECONDS: '3600',
  CATALOG_REFRESH_SECONDS: '3600',
  // The sender's heartbeat (one PUT and one LIST per period) too: once at start, then not in this file's time.
  SEND_HEARTBEAT_SECONDS: '300'
})
const bucket = stack.config.aws.s3.bucket
const aws = createAwsClients(stack.config, { credentials: stack.credentials })
t.teardown(() => aws.destroy())
const calls = countCalls([aws.s3, aws.ses])
// The test's own look at the bucket goes through another client (not counted).
const probe = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => probe.destroy())

// Published as the CLI does, through the uncounted client: publishing is not a signup's cost.
await createCatalog({ s3: probe, bucket, refreshMs: 0 }).publish({ bytes: pdf, filename: 'Cost Model.pdf', title: 'Cost model' })
let app = await build(t, stack.config, { aws })

async function outboxEmpty (): Promise<true | undefined> {
  const res = await probe.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'outbox/' }))
  return (res.Contents ?? []).some(o => !o.Key?.startsWith('outbox/settle/')) ? undefined : true
}

async function signup (email: string): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email } })
  if (res.statusCode !== 202) throw new Error(`signup answered ${res.statusCode}: ${res.body}`)
}

/** Waits until `count` more emails are in the SES emulator and the outbox holds no batch. */
async function allSent (count: number): Promise<void> {
  await eventually(async () => ((await sentEmails(stack.sesUrl)).length >= count && await outboxEmpty()) || undefined, { timeoutMs: 60_000, intervalMs: 100 })
  // The delivery log and the delete come after the last send: wait for the worker's last writes.
  const keys = (command: string) => new Set(calls.filter(c => c.command === command && c.purpose === 'outbox' && answered(c)).map(c => c.key))
  await eventually(() => keys('DeleteObject').size === keys('PutObject').size || undefined).catch(err => {
    const summary = Object.entries(Object.groupBy(calls, c => `${c.command} ${c.purpose}`)).map(([k, v]) => `${k}: ${v?.length}`)
    throw new Error(`not every batch was deleted: ${summary.join(', ')}`, { cause: err })
  })
}

const batchSizes = (seen: Call[]) => seen.filter(c => c.command === 'PutObject' && c.purpose === 'outbox').map(c => (JSON.parse(c.body ?? '{}') as { items: unknown[] }).items.length)
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const bytesOf = (seen: Call[], command: string, purpose?: string) => seen.filter(c => c.command === command && (purpose === undefined || c.purpose === purpose)).map(c => c.requestBytes)

t.test('start-up: template and quota calls, one scan, once per instance', async t => {
  await app.ready()
  // The landing page reads current.json once; then it is cached for CATALOG_REFRESH_SECONDS.
  t.equal((await app.inject('/')).statusCode, 200)
  t.equal(tally(calls, 'GetObject', 'catalog'), 1, 'the pointer is read once')
  await eventually(() => tally(calls, 'GetAccount') >= 1 && tally(calls, 'ListObjectsV2', 'outbox') >= 1 ? true : undefined)
  t.equal(tally(calls, 'GetEmailTemplate') + tally(calls, 'CreateEmailTemplate'), PER_INSTANCE.templateCalls, 'the template is looked up, then stored (new)')
  t.equal(tally(calls, 'GetAccount'), 1, 'the sending rate is read once at start')
  t.equal(tally(calls, 'ListObjectsV2', 'outbox'), 1, 'one outbox scan at start')
  t.equal(tally(calls, 'PutObject', 'senders'), PER_INSTANCE.heartbeatPuts, 'the sender\'s heartbeat: one PUT')
  t.equal(tally(calls, 'ListObjectsV2', 'senders'), PER_INSTANCE.heartbeatLists, 'and one LIST of the senders')
  calls.length = 0
})

t.test('a lone signup: its own batch (the worst case)', async t => {
  for (let i = 0; i < LONE; i++) {
    const before = calls.length
    await signup(`lone.${i}@example.com`)
    await allSent(i + 1)
    const mine = calls.slice(before)
    t.same(batchSizes(mine), [1], 'a batch of one')
    t.equal(tally(mine, 'GetObject', 'subscriber'), PER_SIGNUP.subscriberGet, 'the record is read')
    t.equal(tally(mine, 'PutObject', 'subscriber'), PER_SIGNUP.subscriberPut, 'and written once')
    t.equal(tally(mine, 'SendEmail'), PER_SIGNUP.sendEmail)
    t.equal(tally(mine, 'PutObject', 'outbox'), PER_BATCH.create)
    t.equal(tally(mine, 'PutObject', 'deliveryLog'), PER_BATCH.deliveryLog)
    t.equal(tally(mine, 'DeleteObject', 'outbox'), PER_BATCH.delete)
    // One outcome: a checkpoint only if the send took longer than 100 ms.
    const checkpoints = tally(mine, 'PutObject', 'checkpoint')
    t.ok(checkpoints >= CHECKPOINTS_PER_EMAIL.lone.min && checkpoints <= CHECKPOINTS_PER_EMAIL.lone.max, 'at most one checkpoint')
    t.same(mine.filter(c => !['subscriber', 'outbox', 'checkpoint', 'deliveryLog', 'ses'].includes(c.purpose)).map(c => `${c.command} ${c.purpose}`), [], 'nothing else (the pointer is cached)')
    t.equal(mine.filter(c => c.purpose === 'ses').length, PER_SIGNUP.sendEmail, 'the only SES call is SendEmail')
  }
  const record = bytesOf(calls, 'PutObject', 'subscriber')
  t.comment(`lone: ${calls.length / LONE} requests per signup; record ${mean(record)} B; SendEmail ${mean(bytesOf(calls, 'SendEmail'))} B`)
  calls.length = 0
})

/** BURST signups at once: they share outbox batches; the sending rate sets the checkpoints. */
async function burst (t: Test, prefix: string, expected: { min: number, max: number }): Promise<void> {
  const emailsBefore = (await sentEmails(stack.sesUrl)).length
  await Promise.all(Array.from({ length: BURST }, (_, i) => signup(`${prefix}.${i}@example.com`)))
  await allSent(emailsBefore + BURST)
  const sizes = batchSizes(calls)
  const batches = sizes.length
  t.equal(sizes.reduce((a, b) => a + b, 0), BURST, 'every signup in one batch')
  t.equal(tally(calls, 'GetObject', 'subscriber'), BURST * PER_SIGNUP.subscriberGet, 'each record read once')
  t.equal(tally(calls, 'PutObject', 'subscriber'), BURST * PER_SIGNUP.subscriberPut, 'and written once')
  t.equal(tally(calls, 'SendEmail'), BURST * PER_SIGNUP.sendEmail, 'one SendEmail each')
  t.ok(batches <= BURST / 10, `group commit: ${batches} batches`)
  t.equal(tally(calls, 'PutObject', 'deliveryLog'), batches * PER_BATCH.deliveryLog, 'one delivery log per batch')
  t.equal(tally(calls, 'DeleteObject', 'outbox'), batches * PER_BATCH.delete, 'each batch deleted')
  const checkpoints = tally(calls, 'PutObject', 'checkpoint') / BURST
  t.ok(checkpoints >= expected.min && checkpoints <= expected.max, `${checkpoints} checkpoints per email, in [${expected.min}, ${expected.max}]`)
  const other = calls.filter(c => !['subscriber', 'outbox', 'checkpoint', 'deliveryLog', 'ses'].includes(c.purpose))
  t.same(other.map(c => `${c.command} ${c.purpose}`), [], 'nothing else')

  const send = bytesOf(calls, 'SendEmail')
  const record = bytesOf(calls, 'PutObject', 'subscriber')
  const log = bytesOf(calls, 'PutObject', 'deliveryLog').reduce((a, b) => a + b, 0) / BURST
  const near = (measured: number, table: number) => Math.abs(measured - table) <= table / 4
  t.ok(near(mean(send), BYTES.sendEmailTemplated), `SendEmail ${mean(send).toFixed(0)} B, table ${BYTES.sendEmailTemplated}`)
  t.ok(near(mean(record), BYTES.subscriberRecord), `record ${mean(record).toFixed(0)} B, table ${BYTES.subscriberRecord}`)
  t.ok(near(log, BYTES.deliveryLogPerEmail), `delivery log ${log.toFixed(0)} B per email, table ${BYTES.deliveryLogPerEmail}`)
  const classA = calls.filter(c => ['PutObject', 'CopyObject', 'ListObjectsV2'].includes(c.command)).length
  const unanswered = calls.filter(c => !answered(c)).map(c => `${c.command} ${c.status}`)
  t.comment(`${prefix}: retried attempts [${unanswered.join(', ')}]; batch sizes ${sizes.join(', ')}; checkpoints ${checkpoints} per email; ` +
    `class A ${classA / BURST}, class B ${tally(calls, 'GetObject') / BURST} per signup; ` +
    `SendEmail ${Math.min(...send)}–${Math.max(...send)} B; record ${mean(record).toFixed(0)} B; log ${log.toFixed(0)} B/email`)
  calls.length = 0
}

t.test(`a burst of ${BURST} signups, SES at ${CHECKPOINTS_PER_EMAIL.slow.rate}/s (GetAccount)`, async t => {
  await burst(t, 'slow', CHECKPOINTS_PER_EMAIL.slow)
})

t.test(`a burst of ${BURST} signups, SES at ${CHECKPOINTS_PER_EMAIL.fast.rate}/s (SES_MAX_SEND_RATE)`, async st => {
  await app.close()
  // Built on the top-level test: it serves the link checks below too.
  app = await build(t, reconfigure(stack.config, { SES_MAX_SEND_RATE: String(CHECKPOINTS_PER_EMAIL.fast.rate) }), { aws })
  await app.ready()
  await eventually(() => tally(calls, 'ListObjectsV2', 'outbox') >= 1 || undefined)
  st.equal(tally(calls, 'GetAccount'), 0, 'no GetAccount with SES_MAX_SEND_RATE')
  st.equal(tally(calls, 'GetEmailTemplate') + tally(calls, 'CreateEmailTemplate'), 1, 'the template is found in SES')
  st.equal((await app.inject('/')).statusCode, 200, 'the new instance reads the pointer once')
  calls.length = 0
  await burst(st, 'fast', CHECKPOINTS_PER_EMAIL.fast)
})

t.test('a download click and a /d/ fresh link cost leadlink no S3 request', async t => {
  const [mail] = await sentEmails(stack.sesUrl)
  if (!mail) throw new Error('no email')
  const download = await fetch(extractLink(mail.body.text))
  t.equal(download.status, 200)
  t.equal((await download.arrayBuffer()).byteLength, pdf.byteLength, 'one GET by the reader, straight to S3, the whole PDF')
  t.equal(calls.length, DOWNLOAD_CLICK.serverRequests, 'leadlink made no request')
  t.equal(DOWNLOAD_CLICK.readerGet, 1)

  const renew = extractLink(mail.body.text, /http:\/\/localhost:3000(\/d\/[A-Za-z0-9_-]+)/)
  const res = await app.inject({ method: 'GET', url: new URL(renew).pathname })
  t.equal(res.statusCode, 302)
  t.equal(calls.length, FRESH_LINK.serverRequests, 'the fresh link is signed locally from the cached pointer')
  const fresh = await fetch(String(res.headers.location))
  t.equal(fresh.status, 200, 'then one GET by the reader')
  await fresh.arrayBuffer()
  t.equal(FRESH_LINK.readerGet, 1)
})
