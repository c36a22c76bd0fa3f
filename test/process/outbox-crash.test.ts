// Crash safety and graceful shutdown with real processes: the server is a child process pointed at
// emulators that live in this (parent) process, so that what was sent survives the child's death.
import t from 'tap'
import { ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3'
import type { OutboxBatch } from '../../src/outbox/store.ts'
import { eventually, sentEmails, startEmulators, type Teardown } from '../helper.ts'
import { freePorts } from './child.ts'
import { postSignup, publishSample, serverEnv, startServer } from './server.ts'

async function prepare (t: Teardown) {
  const stack = await startEmulators(t)
  return { stack, s3: await publishSample(t, stack) }
}

function countByAddress (emails: Array<{ destination: { to: string[] } }>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const e of emails) for (const to of e.destination.to) counts.set(to, (counts.get(to) ?? 0) + 1)
  return counts
}

t.test('SIGKILL in the middle of a burst: after a restart every accepted signup is emailed, duplicates only in the crash window', async t => {
  const { stack } = await prepare(t)
  const [port1, port2] = await freePorts(2)
  // The first instance sends slowly, so that however loaded the machine, signups are accepted faster
  // than they are sent and the crash leaves work owed; the restarted one drains it quickly.
  const settings = { SES_MAX_SEND_RATE: '5', OUTBOX_LEASE_SECONDS: '2', OUTBOX_SCAN_SECONDS: '0.3' }
  const first = await startServer(t, serverEnv(stack, port1 as number, settings))

  const addresses = Array.from({ length: 150 }, (_, i) => `burst${i}@example.com`)
  const statuses = new Map<string, number>()
  let next = 0
  const workers = Array.from({ length: 15 }, async () => {
    while (next < addresses.length) {
      const address = addresses[next++] as string
      statuses.set(address, await postSignup(first.base, address))
    }
  })
  // Kill once some emails are out and at least ten accepted signups are still owed (a condition, not
  // a moment: it holds whatever the machine's speed).
  const ours = async () => (await sentEmails(stack.sesUrl)).filter(e => e.destination.to.some(a => addresses.includes(a)))
  const acceptedSoFar = () => [...statuses.values()].filter(s => s === 303).length
  await eventually(async () => {
    const sent = (await ours()).length
    return (sent >= 3 && acceptedSoFar() >= Math.max(25, sent + 10)) || undefined
  }, { timeoutMs: 20_000 })
  first.proc.child.kill('SIGKILL')
  const exit = await first.proc.exit
  t.equal(exit.signal, 'SIGKILL')
  await Promise.all(workers)
  const accepted = [...statuses].filter(([, s]) => s === 303).map(([a]) => a)
  const sentBeforeRestart = (await ours()).length
  t.ok(accepted.length > 20, `signups were accepted before the crash (${accepted.length})`)
  t.ok(sentBeforeRestart < accepted.length, `the crash left emails owed (${accepted.length - sentBeforeRestart})`)

  await startServer(t, serverEnv(stack, port2 as number, { ...settings, SES_MAX_SEND_RATE: '50' }))
  const counts = await eventually(async () => {
    const c = countByAddress(await ours())
    return accepted.every(a => (c.get(a) ?? 0) >= 1) ? c : undefined
  }, { timeoutMs: 45_000, intervalMs: 200 })
  const duplicates = accepted.filter(a => (counts.get(a) ?? 0) > 1)
  t.ok(accepted.every(a => (counts.get(a) ?? 0) <= 2), 'nobody got more than two')
  t.ok(duplicates.length <= 25, `duplicates stay within the checkpoint window at the crash (${duplicates.length})`)
  t.ok([...counts.keys()].every(a => addresses.includes(a)), 'no email to anyone who did not sign up')
  t.comment(`accepted ${accepted.length}, sent before the crash ${sentBeforeRestart}, duplicates ${duplicates.length}`)
})

t.test('SIGTERM: in-flight sends finish, the rest is released for the next instance at once', async t => {
  const { stack, s3 } = await prepare(t)
  const [port1, port2] = await freePorts(2)
  // A long lease: if the next instance picks the batch up quickly, it is because it was released.
  const settings = { SES_MAX_SEND_RATE: '5', OUTBOX_LEASE_SECONDS: '600', OUTBOX_SCAN_SECONDS: '0.3', SHUTDOWN_GRACE_SECONDS: '3' }
  const first = await startServer(t, serverEnv(stack, port1 as number, settings))
  const addresses = Array.from({ length: 30 }, (_, i) => `calm${i}@example.com`)
  const statuses = await Promise.all(addresses.map(a => postSignup(first.base, a)))
  t.ok(statuses.every(s => s === 303), 'all accepted')
  // The SES emulator's store is per process: count this test's addresses only.
  const sentTo = async () => addresses.reduce((n, a) => n + (countByAddress(emailsNow).get(a) ?? 0), 0)
  let emailsNow = await sentEmails(stack.sesUrl)
  await eventually(async () => { emailsNow = await sentEmails(stack.sesUrl); return await sentTo() >= 3 || undefined })
  const stoppedAt = Date.now()
  const exit = await first.proc.stop('SIGTERM')
  t.equal(exit.code, 0, 'a clean exit')
  t.ok(Date.now() - stoppedAt < 6000, 'within the grace period')
  emailsNow = await sentEmails(stack.sesUrl)
  const sentByFirst = await sentTo()
  t.ok(sentByFirst < 30, `work was left (${30 - sentByFirst} owed)`)

  const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: stack.config.aws.s3.bucket, Prefix: 'outbox/' }))).Contents ?? []).map(o => o.Key as string).filter(k => !k.startsWith('outbox/settle/'))
  t.ok(keys.length > 0, 'the rest is still queued in S3')
  for (const key of keys) {
    const batch = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: stack.config.aws.s3.bucket, Key: key }))).Body!.transformToString()) as OutboxBatch
    t.ok(Date.parse(batch.leaseUntil) <= Date.now(), `${key}: lease released`)
  }

  await startServer(t, serverEnv(stack, port2 as number, { ...settings, SES_MAX_SEND_RATE: '50' }))
  const counts = await eventually(async () => {
    const c = countByAddress(await sentEmails(stack.sesUrl))
    return addresses.every(a => c.has(a)) ? c : undefined
  }, { timeoutMs: 20_000, intervalMs: 200 })
  t.ok(addresses.every(a => counts.get(a) === 1), 'everyone exactly once across the two instances')
})
