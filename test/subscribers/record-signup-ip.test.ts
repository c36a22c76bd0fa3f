// RECORD_SIGNUP_IP: on (the default), the record keeps the IP and user agent of the signup, the confirm
// and the unsubscribe as proof; off, it keeps neither, anywhere in the record.
import { readFile } from 'node:fs/promises'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.ts'
import { reconfigure } from '../../src/config.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { startEmulators } from '../helper.ts'

const stack = await startEmulators(t, { RATE_LIMIT_PER_IP_PER_MINUTE: '0', SENDER: 'off' })
const bucket = stack.config.aws.s3.bucket
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())
const UA = 'Mozilla/5.0 (record-ip test)'

async function journey (t: Test, setting: Record<string, string>, address: string): Promise<SubscriberRecord> {
  const app = await buildApp(reconfigure(stack.config, setting), { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => app.close())
  if (!await app.catalog.current('default')) {
    await app.catalog.publish({ bytes: await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url)), filename: 'Guide.pdf', title: 'Guide' })
  }
  const headers = { accept: 'application/json', 'user-agent': UA }
  t.equal((await app.inject({ method: 'POST', url: '/subscribe', headers, payload: { email: address }, remoteAddress: '203.0.113.9' })).statusCode, 202)
  const links = app.recipientLinks.forEmail(app.subscribers.keyOf(address), 'default')
  const confirm = await app.inject({ method: 'POST', url: new URL(links.confirmUrl).pathname, headers, remoteAddress: '203.0.113.10' })
  t.same(confirm.json(), { status: 'confirmed' })
  const unsubscribe = await app.inject({ method: 'POST', url: new URL(links.unsubscribeUrl).pathname, headers, remoteAddress: '203.0.113.11' })
  t.same(unsubscribe.json(), { status: 'unsubscribed' })
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `subscribers/${app.subscribers.keyOf(address)}.json` }))
  return JSON.parse(await res.Body?.transformToString() ?? '') as SubscriberRecord
}

t.test('on by default: the consent proof says where each step came from', async t => {
  const record = await journey(t, {}, 'kept@example.com')
  t.match(record.signups[0], { ip: '203.0.113.9', userAgent: UA, consentText: String })
  t.match(record.confirmation, { ip: '203.0.113.10', userAgent: UA })
  t.match(record.unsubscription, { ip: '203.0.113.11', userAgent: UA, via: 'page' })
})

t.test('RECORD_SIGNUP_IP=false: no IP and no user agent anywhere in the record', async t => {
  const record = await journey(t, { RECORD_SIGNUP_IP: 'false' }, 'private@example.com')
  const text = JSON.stringify(record)
  for (const ip of ['203.0.113.9', '203.0.113.10', '203.0.113.11']) t.notOk(text.includes(ip), `${ip} is not kept`)
  t.notOk(text.includes(UA), 'nor the user agent')
  t.notOk('ip' in (record.signups[0] ?? {}) || 'userAgent' in (record.signups[0] ?? {}), 'the consent proof has neither field')
  t.match(record.signups[0], { consentText: String, consentVersion: String, slug: 'default' }, 'but still what was consented to, and when')
  t.ok(record.confirmation?.at, 'the confirmation is still dated')
  t.equal(record.unsubscription?.via, 'page', 'and the unsubscription says how')
})
