// Issue 13 item 2: three server processes on one bucket and one SES account throttled at 100 sends/s,
// a burst of signups spread across them, one SIGKILLed in the middle. No rate is set anywhere: each
// reads the account's from GetAccount and takes its share through the heartbeats in senders/. The
// outbox also owes a backlog (a previous deployment's, its leases run out) so that the three are busy
// at once and the account's rate is the limit, however slowly this machine takes signups.
import t from 'tap'
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { buildApp } from '../../src/app.ts'
import { reconfigure } from '../../src/config.ts'
import { createOutboxStore, newBatchId, type OutboxBatch } from '../../src/outbox/store.ts'
import { eventually, sentEmails, startEmulators, type Emulators, type Teardown } from '../helper.ts'
import { freePorts, type NodeProcess } from './child.ts'
import { postSignup, publishSample, SERVER_ADDRESS_KEY, serverEnv, startServer } from './server.ts'
import { throttledSes } from './ses-throttle.ts'

// Three servers, a burst and a 900-email drain at 100/s: about a minute on a quiet 2-CPU machine, more under load.
t.setTimeout(240_000)

const SIGNUPS = 300
const BACKLOG = 600
const BACKLOG_BATCH = 20
const RATE = 100
const CONNECTIONS = 24

interface Share { accountRate: number, senders: number, unseenBy: number, share: number }

function fleetEnv (stack: Emulators, sesUrl: string, port: number, name: string): Record<string, string> {
  return serverEnv(stack, port, {
    SES_ENDPOINT: sesUrl,
    INSTANCE_NAME: name,
    // Short periods keep the test short: a heartbeat a second, so a killed sender ages out in 3-4 s, and
    // its batches are claimed 8 s after its last checkpoint. No SES_MAX_SEND_RATE: the account's rate.
    SEND_HEARTBEAT_SECONDS: '1',
    OUTBOX_LEASE_SECONDS: '8',
    OUTBOX_SCAN_SECONDS: '1'
  })
}

/** The "sending share" lines a server logged, in order. */
function shares (proc: NodeProcess): Share[] {
  return proc.stdout().split('\n').filter(line => line.includes('"msg":"sending share"')).map(line => JSON.parse(line) as Share)
}

const sentBy = (proc: NodeProcess): number => proc.stdout().split('"msg":"email sent"').length - 1

/**
 * What a previous deployment left owed: the records now; `queue` then writes the batches, their leases
 * run out, one by one while the three scan, so that each claims some.
 */
async function backlog (t: Teardown, stack: Emulators, s3: S3Client) {
  const app = await buildApp(reconfigure(stack.config, { ADDRESS_KEY: SERVER_ADDRESS_KEY, SENDER: 'off' }), { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => app.close())
  const outbox = createOutboxStore({ s3, bucket: stack.config.aws.s3.bucket })
  const at = Date.now() - 60_000
  const requestedAt = new Date(at).toISOString()
  const addresses = Array.from({ length: BACKLOG }, (_, i) => `owed${i}@example.com`)
  let next = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < addresses.length) {
      const address = addresses[next++] as string
      await app.subscribers.create({ schemaVersion: 1, address, addressHash: app.subscribers.keyOf(address), status: 'pending', createdAt: requestedAt, updatedAt: requestedAt, signups: [], deliveries: [] })
    }
  }))
  return { addresses, queue: () => queue(outbox, addresses, at, (address: string) => app.subscribers.keyOf(address)) }
}

async function queue (outbox: ReturnType<typeof createOutboxStore>, addresses: string[], at: number, keyOf: (address: string) => string): Promise<void> {
  const requestedAt = new Date(at).toISOString()
  for (let first = 0; first < BACKLOG; first += BACKLOG_BATCH) {
    const items = addresses.slice(first, first + BACKLOG_BATCH).map((address, i) => ({ id: newBatchId(at + first + i), address, addressHash: keyOf(address), slug: 'default', requestedAt }))
    const batch: OutboxBatch = { schemaVersion: 1, id: newBatchId(at + first), createdAt: requestedAt, owner: 'previous-deployment', leaseUntil: requestedAt, items, done: {}, retries: {} }
    await outbox.create(batch)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

t.test(`three instances share one SES account at ${RATE}/s by themselves; one SIGKILLed mid-burst`, async t => {
  const stack = await startEmulators(t)
  const bucket = stack.config.aws.s3.bucket
  const s3 = await publishSample(t, stack)
  const ses = await throttledSes(t, stack.sesUrl, RATE)
  const owed = await backlog(t, stack, s3)
  const ports = await freePorts(3)
  // Three start at once on a small machine: allow for it.
  const servers = await Promise.all(ports.map((port, i) => startServer(t, fleetEnv(stack, ses.url, port, `fleet${i}`), 60_000)))
  const [doomed, ...survivors] = servers as [typeof servers[0], typeof servers[0], typeof servers[0]]

  // Started together: each learns the account's rate and, within a few heartbeats, the other two.
  await eventually(() => servers.every(s => {
    const last = shares(s.proc).at(-1)
    return last?.senders === 3 && last.unseenBy === 0
  }) || undefined, { timeoutMs: 20_000, intervalMs: 100 })
  for (const s of servers) {
    t.match(shares(s.proc).at(-1), { accountRate: RATE, senders: 3, unseenBy: 0 }, 'the account rate from GetAccount, three senders')
    t.ok(Math.abs((shares(s.proc).at(-1)?.share ?? 0) - RATE * 0.9 / 3) < 0.01, 'a third of 90 % each')
  }
  t.ok(ses.getAccount() >= 3, 'each asked SES for the account\'s rate')

  const queued = owed.queue()
  // The burst: spread over the live instances, as a load balancer would; the doomed one leaves the
  // rotation when it is killed (posts in flight to it then fail and do not count as accepted).
  const addresses = Array.from({ length: SIGNUPS }, (_, i) => `fleet${i}@example.com`)
  const statuses = new Map<string, number>()
  const rotation = [...servers]
  let next = 0
  const started = Date.now()
  const clients = Array.from({ length: CONNECTIONS }, async () => {
    while (next < addresses.length) {
      const i = next++
      const address = addresses[i] as string
      const server = rotation[i % rotation.length] as typeof servers[0]
      statuses.set(address, await postSignup(server.base, address))
    }
  })
  const accepted = () => [...statuses].filter(([, s]) => s === 303).map(([a]) => a)
  await queued
  // The middle: half the signups accepted, half of everything sent, the doomed one busy (a condition, not a moment).
  await eventually(() => (accepted().length >= SIGNUPS / 2 && ses.sent() >= (SIGNUPS + BACKLOG) / 2 && sentBy(doomed.proc) >= 30) || undefined, { timeoutMs: 60_000, intervalMs: 250 })
  rotation.splice(rotation.indexOf(doomed), 1)
  doomed.proc.child.kill('SIGKILL')
  t.equal((await doomed.proc.exit).signal, 'SIGKILL')
  const sentByDoomed = sentBy(doomed.proc)
  await Promise.all(clients)
  const acceptedAt = Date.now()
  const ok = accepted()
  t.ok(ok.length >= SIGNUPS * 0.95, `nearly every signup accepted (${ok.length} of ${SIGNUPS}; posts in flight to the killed one fail)`)

  const ours = new Set([...addresses, ...owed.addresses])
  const everyone = [...ok, ...owed.addresses]
  // The emulator's store is read whole (bodies and all): only once the proxy has let enough through.
  await eventually(() => ses.sent() >= everyone.length || undefined, { timeoutMs: 60_000, intervalMs: 250 })
  const counts = await eventually(async () => {
    const c = new Map<string, number>()
    for (const e of await sentEmails(stack.sesUrl)) for (const to of e.destination.to) if (ours.has(to)) c.set(to, (c.get(to) ?? 0) + 1)
    return everyone.every(a => (c.get(a) ?? 0) >= 1) ? c : undefined
  }, { timeoutMs: 30_000, intervalMs: 1000 })
  const doneAt = Date.now()
  t.pass('every accepted signup and every email of the backlog sent')
  const duplicates = everyone.filter(a => (counts.get(a) ?? 0) > 1).length
  t.ok(duplicates <= everyone.length * 0.01, `duplicates ${duplicates} of ${everyone.length} (at most 1 %): the killed one's sends since its last checkpoints`)
  t.ok([...counts.values()].every(n => n <= 2), 'nobody got more than two')
  const calls = ses.sent() + ses.throttled()
  t.ok(ses.throttled() / calls < 0.02, `throttled ${ses.throttled()} of ${calls} SendEmail calls (${(ses.throttled() / calls * 100).toFixed(2)} %, under 2 %)`)

  for (const s of survivors) {
    t.match(shares(s.proc).at(-1), { senders: 2, unseenBy: 0 }, `the killed one aged out: two senders (${JSON.stringify(shares(s.proc).map(x => [x.senders, x.unseenBy]))})`)
    t.ok(Math.abs((shares(s.proc).at(-1)?.share ?? 0) - RATE * 0.9 / 2) < 0.01, 'and each survivor\'s share grew to half of 90 %')
  }

  // A graceful stop deletes the heartbeat; the killed one's stays until the others forget it.
  await Promise.all(survivors.map(s => s.proc.stop('SIGTERM')))
  const left = ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'senders/' }))).Contents ?? []).map(o => o.Key ?? '')
  t.ok(left.every(key => /-fleet0-[0-9a-f]+\.json$/.test(key)), `the survivors deleted theirs at SIGTERM (left: ${left.length ? left.join(', ') : 'none, the killed one\'s forgotten too'})`)

  t.comment(`accepted ${ok.length} in ${((acceptedAt - started) / 1000).toFixed(1)} s, backlog ${owed.addresses.length}; every email out ${((doneAt - started) / 1000).toFixed(1)} s after the first post; ` +
    `sent by the killed one ${sentByDoomed}, by the survivors ${survivors.map(s => sentBy(s.proc)).join(' + ')}; duplicates ${duplicates} ` +
    `(${(duplicates / everyone.length * 100).toFixed(2)} %); SendEmail ${calls} calls, throttled ${ses.throttled()} (${(ses.throttled() / calls * 100).toFixed(2)} %); ` +
    `busiest second ${ses.busiestSecond()} sends${ses.busiestSecond() < RATE * 0.8 ? ' (signups came slower than the fleet may send: the account was not the limit on this machine)' : ''}`)
})
