// The rules that decide whether a form submission may email an address (pure function).
import t from 'tap'
import { emailAllowance } from '../../src/subscribers/email-allowance.ts'
import type { Delivery, SubscriberRecord } from '../../src/subscribers/store.ts'

const DAY = 24 * 60 * 60 * 1000
const NOW = Date.parse('2026-06-01T12:00:00.000Z')
const LIMITS = { cooldownMs: 300_000, maxEmails: 3, windowDays: 30 }
const ago = (ms: number) => new Date(NOW - ms).toISOString()
const sent = (ms: number, status: Delivery['status'] = 'requested'): Delivery => ({ at: ago(ms), slug: 'default', status })

function record (status: SubscriberRecord['status'], deliveries: Delivery[], extra: Partial<SubscriberRecord> = {}): SubscriberRecord {
  return { schemaVersion: 1, address: 'a@example.com', addressHash: 'h', status, createdAt: ago(90 * DAY), updatedAt: ago(0), signups: [], deliveries, ...extra }
}

t.test('suppressed: never', async t => {
  t.same(emailAllowance(record('suppressed', []), NOW, LIMITS), { outcome: 'suppressed', returning: false })
})

t.test('the cooldown holds for everyone, confirmed included; failed sends do not count', async t => {
  t.equal(emailAllowance(record('confirmed', [sent(60_000)]), NOW, LIMITS).outcome, 'cooldown')
  t.equal(emailAllowance(record('pending', [sent(60_000, 'failed')]), NOW, LIMITS).outcome, 'queued')
  t.equal(emailAllowance(record('pending', [sent(301_000)]), NOW, LIMITS).outcome, 'queued')
  t.equal(emailAllowance(record('pending', [sent(60_000)]), NOW, { ...LIMITS, cooldownMs: 0 }).outcome, 'queued', '0 turns it off')
})

t.test('not confirmed: at most maxEmails in the window', async t => {
  const three = [sent(29 * DAY), sent(10 * DAY), sent(DAY)]
  t.equal(emailAllowance(record('pending', three), NOW, LIMITS).outcome, 'capped')
  t.equal(emailAllowance(record('pending', [sent(31 * DAY), sent(10 * DAY), sent(DAY)]), NOW, LIMITS).outcome, 'queued', 'one fell out of the window')
  t.equal(emailAllowance(record('pending', [...three.slice(1), sent(DAY, 'failed')]), NOW, LIMITS).outcome, 'queued', 'failed sends do not count')
  t.equal(emailAllowance(record('pending', three), NOW, { ...LIMITS, maxEmails: 0 }).outcome, 'queued', '0 turns the cap off')
  t.equal(emailAllowance(record('confirmed', three), NOW, LIMITS).outcome, 'queued', 'confirmed addresses asked for mail')
})

t.test('unsubscribed: one email per window after the unsubscription, marked as returning', async t => {
  const unsubscription = { at: ago(5 * DAY), ip: '192.0.2.1', userAgent: 'x', via: 'one-click' as const }
  t.same(emailAllowance(record('unsubscribed', [sent(6 * DAY)], { unsubscription }), NOW, LIMITS), { outcome: 'queued', returning: true },
    'emails before the unsubscription do not count')
  t.same(emailAllowance(record('unsubscribed', [sent(6 * DAY), sent(2 * DAY)], { unsubscription }), NOW, LIMITS), { outcome: 'capped', returning: true })
  const longAgo = { ...unsubscription, at: ago(100 * DAY) }
  t.equal(emailAllowance(record('unsubscribed', [sent(31 * DAY)], { unsubscription: longAgo }), NOW, LIMITS).outcome, 'queued', 'a new window')
  t.equal(emailAllowance(record('unsubscribed', [sent(29 * DAY)], { unsubscription: longAgo }), NOW, LIMITS).outcome, 'capped')
  t.equal(emailAllowance(record('unsubscribed', [sent(2 * DAY)], { unsubscription }), NOW, { ...LIMITS, maxEmails: 0 }).outcome, 'capped', 'whatever the cap for the others')
})
