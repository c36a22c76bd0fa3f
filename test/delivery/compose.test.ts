// Composing and delivering one outbox item: what goes into the email (link, recipient links, RFC 8058
// headers), what the delivery log gets back, and how failures are classified for the worker.
import t from 'tap'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDelivery, type DeliveryOptions } from '../../src/delivery/compose.ts'
import { createConfirmationEmail } from '../../src/delivery/confirmation-email.ts'
import type { OutgoingEmail } from '../../src/delivery/ses-messenger.ts'
import { DeliveryFailure } from '../../src/outbox/ses-errors.ts'
import type { OutboxItem } from '../../src/outbox/store.ts'
import type { WhitepaperPointer } from '../../src/whitepapers/catalog.ts'
import { mockPointer } from '../aws-mocks.ts'
import { build, isolateNetwork, testConfig } from '../helper.ts'

const pointer: WhitepaperPointer = {
  slug: 'default', version: 'v7', key: 'whitepapers/default/versions/v7/guide.pdf', filename: 'guide.pdf', title: 'The Guide', description: '', size: 1000, sha256: 'abc', activatedAt: '2026-01-01T00:00:00.000Z'
}
const item: OutboxItem = { id: 'item-1', address: 'jane@example.com', addressHash: 'ab'.repeat(32), slug: 'default', requestedAt: '2026-01-02T00:00:00.000Z' }
const expiresAt = new Date('2026-01-09T00:00:00.000Z')

function setUp (overrides: Partial<DeliveryOptions> = {}) {
  const sent: OutgoingEmail[] = []
  const minted: Array<[string, number]> = []
  const linksFor: Array<[string, string]> = []
  const delivery = createDelivery({
    catalog: { current: async slug => slug === 'default' ? pointer : null },
    links: { mint: async (p, ttl) => { minted.push([p.version, ttl]); return { url: 'https://s3.test/guide.pdf?X-Amz-Signature=abc', expiresAt } } },
    recipientLinks: {
      forEmail: (hash, slug) => {
        linksFor.push([hash, slug])
        return { confirmUrl: 'https://leadlink.test/c/C', unsubscribeUrl: 'https://leadlink.test/u/U', renewUrl: 'https://leadlink.test/d/R', privacyUrl: 'https://leadlink.test/p/P' }
      }
    },
    email: createConfirmationEmail({ subject: 'Your copy of {{title}}', site: 'leadlink.test' }),
    messenger: { send: async email => { sent.push(email); return 'msg-1' } },
    linkTtlSeconds: 3600,
    clock: () => Date.parse('2026-01-02T00:00:05.000Z'),
    ...overrides
  })
  return { delivery, sent, minted, linksFor }
}

t.test('deliver sends the composed email and returns what the delivery log keeps', async t => {
  const { delivery, sent, minted, linksFor } = setUp()
  const result = await delivery.deliver(item)
  t.same(result, { messageId: 'msg-1', version: 'v7', linkExpiresAt: expiresAt.toISOString(), sentAt: '2026-01-02T00:00:05.000Z' })
  t.same(minted, [['v7', 3600]], 'one link, of the current version, for LINK_TTL_SECONDS')
  t.same(linksFor, [[item.addressHash, 'default']], 'recipient links are made from the hash, never the address')
  const email = sent[0] as OutgoingEmail
  t.equal(email.to, 'jane@example.com')
  t.equal(email.subject, 'Your copy of The Guide')
  t.match(email.text, 'https://s3.test/guide.pdf?X-Amz-Signature=abc')
  t.match(email.text, 'https://leadlink.test/c/C')
  t.same(email.headers, [
    { name: 'List-Unsubscribe', value: '<https://leadlink.test/u/U>' },
    { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' }
  ], 'RFC 8058 one-click unsubscribe')
  t.ok(email.template?.name.startsWith('leadlink-confirmation-'), 'the stored-template form comes along')
})

t.test('a returning address gets the wording that says it stays unsubscribed', async t => {
  const { delivery } = setUp()
  const composed = await delivery.compose({ ...item, kind: 'returning' })
  t.match(composed?.email.text, /You unsubscribed from our emails earlier/)
  t.notMatch((await delivery.compose(item))?.email.text, /You unsubscribed/)
})

t.test('failures are classified: whitepaper gone and SES rejections are final, throttling is retried', async t => {
  const gone = setUp()
  const err = await gone.delivery.deliver({ ...item, slug: 'withdrawn' }).catch(e => e)
  t.ok(err instanceof DeliveryFailure)
  t.same([err.failure, err.linkMinted], [{ kind: 'permanent', reason: 'whitepaper_gone' }, false])
  t.same(gone.sent, [], 'nothing sent')

  const answer = (name: string, status: number) => setUp({ messenger: { send: async () => { throw Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } }) } } })
  const throttled = await answer('TooManyRequestsException', 429).delivery.deliver(item).catch(e => e)
  t.same([throttled.failure, throttled.linkMinted], [{ kind: 'retry', reason: 'throttled', throttled: true }, true])
  t.equal(throttled.cause.name, 'TooManyRequestsException', 'the SDK error is kept as the cause')
  const rejected = await answer('MessageRejected', 400).delivery.deliver(item).catch(e => e)
  t.same(rejected.failure, { kind: 'permanent', reason: 'MessageRejected' })
})

t.test('S3 or catalog trouble is not a delivery failure: it comes out as it came (the item stays owed)', async t => {
  const down = new Error('S3 is down')
  const { delivery } = setUp({ links: { mint: async () => { throw down } } })
  const err = await delivery.deliver(item).catch(e => e)
  t.equal(err, down)
  t.notOk(err instanceof DeliveryFailure)
})

t.test('the app\'s delivery composes with its own templates and limits (what an admin preview should show)', async t => {
  isolateNetwork(t)
  const dir = await mkdtemp(join(tmpdir(), 'leadlink-templates-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'build'))
  await writeFile(join(dir, 'build', 'confirmation.html'), '<p>CUSTOM {{title}} {{downloadUrl}}</p>')
  await writeFile(join(dir, 'confirmation.txt'), 'CUSTOM {{title}}: {{ignoreNote}}')
  mockPointer()
  const app = await build(t, testConfig({ ADDRESS_MAX_EMAILS: '2', ADDRESS_WINDOW_DAYS: '10' }), { templatesDir: dir })
  const composed = await app.delivery.compose(item)
  t.match(composed?.email.text, /^CUSTOM /, 'the templates the app was given')
  t.match(composed?.email.text, 'at most 2 emails in 10 days', 'the limits the app holds to')
  t.match(composed?.email.html, /^<p>CUSTOM .*X-Amz-Signature=/)
  t.equal(composed?.pointer.slug, 'default')
})
