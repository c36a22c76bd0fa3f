// SES event publishing through the verified webhook into the funnel (real signatures, the emulators):
// every email carries its whitepaper and version as SES tags, each event type lands in its step for
// that version, opens and download clicks count once per email, a message SNS delivers twice (or to
// two instances at once) counts once, bounces still suppress, and nothing stored names an address.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { buildApp, type App } from '../../src/app.ts'
import { dayOf } from '../../src/funnel/model.ts'
import { eventually, isolateNetwork, startEmulators, tempDir, type Teardown } from '../helper.ts'
import { makeCertificates, postTo, serveCertificate, signed, TOPIC } from './sns-support.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
const certs = await makeCertificates(await tempDir(t))
const stack = await startEmulators(t, { SNS_TOPIC_ARNS: TOPIC, SES_MAX_SEND_RATE: '100', SES_TEMPLATES: 'off' })
isolateNetwork(t)
serveCertificate(certs)
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())

async function instance (t: Teardown): Promise<App> {
  const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => app.close())
  return app
}
const app = await instance(t)
const pointer = await app.catalog.publish({ slug: 'guide', bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })
const post = postTo(app)
const PUBLIC = stack.config.http.publicUrl
const today = dayOf(Date.now())

/** An event as SES event publishing writes it, for an email of `guide` (its tags), to jane@example.com. */
function sesEvent (eventType: string, sesMessageId: string, detail: Record<string, unknown> = {}): string {
  const key = ({ Send: 'send', Delivery: 'delivery', Open: 'open', Click: 'click', Bounce: 'bounce', Complaint: 'complaint', Reject: 'reject', DeliveryDelay: 'deliveryDelay', 'Rendering Failure': 'failure' } as Record<string, string>)[eventType] ?? 'x'
  return JSON.stringify({
    eventType,
    mail: {
      timestamp: new Date().toISOString(),
      messageId: sesMessageId,
      source: 'hello@leadlink.test',
      destination: ['jane@example.com'],
      tags: { 'ses:configuration-set': ['leadlink'], slug: ['guide'], version: [pointer.version] }
    },
    [key]: { timestamp: new Date().toISOString(), ...detail }
  })
}
const note = (message: string, fields: Record<string, string> = {}) => signed(certs.key, { Type: 'Notification', Message: message, ...fields })
const countsOf = async (a: App) => {
  await a.funnel.flush()
  return (await a.funnel.read({ from: today, to: today, slug: 'guide' })).find(r => r.version === pointer.version)?.counts ?? {}
}

t.test('each email is sent with its whitepaper and version as SES message tags', async t => {
  const sends: Array<Record<string, unknown>> = []
  app.aws.ses.middlewareStack.add((next, context) => async args => {
    if (context.commandName === 'SendEmailCommand') sends.push(args.input as Record<string, unknown>)
    return next(args)
  }, { step: 'initialize', name: 'captureSends' })
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: 'tagged@example.com', slug: 'guide' } })
  t.equal(res.statusCode, 202)
  const input = await eventually(() => sends[0])
  t.same(input.EmailTags, [{ Name: 'slug', Value: 'guide' }, { Name: 'version', Value: pointer.version }])
})

t.test('every event type lands in its step; opens and download clicks count once per email', async t => {
  const before = await countsOf(app)
  const a = randomUUID()
  const b = randomUUID()
  const download = `${stack.config.aws.s3.endpoint}/bucket/Guide.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x&X-Amz-Signature=y`
  const messages = [
    sesEvent('Send', a), sesEvent('Delivery', a), sesEvent('Send', b), sesEvent('Delivery', b),
    sesEvent('Open', a), sesEvent('Open', a), sesEvent('Open', b),
    sesEvent('Click', a, { link: download }), sesEvent('Click', a, { link: download }),
    sesEvent('Click', a, { link: `${PUBLIC}/c/token` }), sesEvent('Click', b, { link: `${PUBLIC}/u/token` }),
    sesEvent('DeliveryDelay', b, { delayType: 'MailboxFull' }), sesEvent('DeliveryDelay', b, { delayType: 'MailboxFull' }),
    sesEvent('Reject', randomUUID(), { reason: 'Bad content' }), sesEvent('Rendering Failure', randomUUID(), { errorMessage: 'x' }),
    sesEvent('Bounce', randomUUID(), { bounceType: 'Transient', bouncedRecipients: [{ emailAddress: 'soft@example.com' }] })
  ]
  for (const message of messages) t.equal((await post(note(message))).statusCode, 200)
  const after = await countsOf(app)
  const diff = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, (v ?? 0) - ((before as Record<string, number>)[k] ?? 0)]).filter(([, v]) => v !== 0))
  t.same(diff, { sent: 2, delivered: 2, opened: 2, downloads: 1, delayed: 1, rejected: 1, renderingFailures: 1, bounced: 1 })
})

t.test('a permanent bounce and a complaint still suppress, and count', async t => {
  const res = await post(note(sesEvent('Bounce', randomUUID(), { bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: [{ emailAddress: 'hard@example.com' }] })))
  t.same(res.json(), { status: 'processed', suppressed: 1 })
  const res2 = await post(note(sesEvent('Complaint', randomUUID(), { complaintFeedbackType: 'abuse', complainedRecipients: [{ emailAddress: 'angry@example.com' }] })))
  t.same(res2.json(), { status: 'processed', suppressed: 1 })
  const counts = await countsOf(app)
  t.ok((counts.bounced ?? 0) >= 1)
  t.equal(counts.complained, 1)
})

t.test('a message SNS delivers twice, or to two instances at once, counts once', async t => {
  const other = await instance(t)
  const before = (await countsOf(app)).sent ?? 0
  const twice = note(sesEvent('Send', randomUUID()))
  t.same((await post(twice)).json(), { status: 'processed', suppressed: 0 })
  t.same((await post(twice)).json(), { status: 'ignored' })
  const both = note(sesEvent('Send', randomUUID()))
  const answers = await Promise.all([post(both), postTo(other)(both)])
  t.same(answers.map(r => r.statusCode), [200, 200])
  await other.funnel.flush()
  t.equal((await countsOf(app)).sent, before + 2, 'two messages, two sends')
  // An event without tags (an email sent before tagging) still counts, under an unknown version.
  await post(note(JSON.stringify({ eventType: 'Send', mail: { messageId: randomUUID(), destination: ['x@example.com'] }, send: {} })))
  await app.funnel.flush()
  t.match(await app.funnel.read({ from: today, to: today, slug: '' }), [{ slug: '', version: '', counts: { sent: 1 } }])
})

t.test('nothing under funnel/ holds an address or an address hash', async t => {
  await app.funnel.flush()
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: stack.config.aws.s3.bucket, Prefix: 'funnel/' }))
  const keys = (listed.Contents ?? []).map(o => o.Key as string)
  t.ok(keys.some(k => k.startsWith('funnel/parts/') || k.startsWith('funnel/months/')), 'counts are stored')
  const hashes = (await Promise.all(['jane@example.com', 'hard@example.com', 'tagged@example.com'].map(a => app.subscribers.keyOf?.(a)))).filter(Boolean) as string[]
  for (const key of keys) {
    const body = await (await s3.send(new GetObjectCommand({ Bucket: stack.config.aws.s3.bucket, Key: key }))).Body!.transformToString()
    t.notMatch(`${key} ${body}`, /@|example\.com/, `${key}: no address`)
    for (const hash of hashes) t.notMatch(`${key} ${body}`, hash.slice(0, 16), `${key}: no address hash`)
  }
})
