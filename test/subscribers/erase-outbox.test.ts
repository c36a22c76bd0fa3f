// Erasing from an outbox batch that a sender holds (S3 emulator): the edit keeps the lease, the holder's
// next checkpoint adopts it (the erased item is dropped, its own progress on the others kept), and a
// real claim by another instance still takes the lease away.
import { S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { createLeases } from '../../src/outbox/leases.ts'
import { removeItems } from '../../src/outbox/redact.ts'
import { createOutboxStore, newBatchId, type OutboxBatch, type OutboxItem } from '../../src/outbox/store.ts'
import { startEmulators } from '../helper.ts'

const stack = await startEmulators(t)
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())
const store = createOutboxStore({ s3, bucket: stack.config.aws.s3.bucket })
const log = { info: () => {}, warn: () => {} }
let now = Date.parse('2026-05-01T10:00:00.000Z')
const clock = () => now
const LEASE_MS = 30_000

const item = (name: string): OutboxItem => ({ id: newBatchId(now), address: `${name}@example.com`, addressHash: name.padEnd(64, '0'), slug: 'default', requestedAt: new Date(now).toISOString() })

async function heldBatch (owner: string, items: OutboxItem[]) {
  const batch: OutboxBatch = { schemaVersion: 1, id: newBatchId(now), createdAt: new Date(now).toISOString(), owner, leaseUntil: new Date(now + LEASE_MS).toISOString(), items, done: {}, retries: {} }
  const etag = await store.create(batch)
  const leases = createLeases({ store, owner, leaseMs: LEASE_MS, clock, log })
  return { leases, lease: leases.hold(batch, etag), id: batch.id }
}

t.test('the holder adopts an erasure at its next checkpoint and keeps its progress', async t => {
  const [a, b, c] = [item('ann'), item('bob'), item('cy')]
  const { leases, lease, id } = await heldBatch('instance-1', [a, b, c])
  lease.batch.done[a.id] = 'sent'
  lease.batch.results = { [a.id]: { messageId: 'm-a', version: 'v1', linkExpiresAt: 'x', sentAt: 'y' } }
  await leases.checkpoint(lease)
  // In memory the holder has also sent cy since, not yet checkpointed.
  lease.batch.done[c.id] = 'sent'

  t.equal(await removeItems(store, id, new Set([b.id])), 1, 'bob is taken out, the lease untouched')
  t.equal(await removeItems(store, id, new Set([b.id])), 0, 'again: nothing to take out')
  now += 1000
  await leases.checkpoint(lease)
  t.notOk(lease.lost, 'the holder keeps its lease')
  t.same(lease.batch.items.map(i => i.id), [a.id, c.id], 'and drops bob from what it sends')
  t.equal(lease.batch.done[b.id], 'skipped', 'anything queued for bob in memory is skipped')
  const stored = await store.read(id)
  t.same(stored?.batch.items.map(i => i.address), ['ann@example.com', 'cy@example.com'], 'S3 has no trace of bob\'s address')
  t.same(stored?.batch.done, { [a.id]: 'sent', [c.id]: 'sent', [b.id]: 'skipped' }, 'the holder\'s progress on the others is kept')
  t.notOk(JSON.stringify(stored?.batch).includes('bob'), 'bob\'s address is nowhere in the batch')
})

t.test('a claim is not an erasure: the old holder loses the lease', async t => {
  const { leases, lease, id } = await heldBatch('instance-1', [item('dee')])
  now += LEASE_MS + 1
  const other = createLeases({ store, owner: 'instance-2', leaseMs: LEASE_MS, clock, log })
  t.ok(await other.claim(id), 'another instance claims the expired lease')
  await leases.checkpoint(lease)
  t.ok(lease.lost, 'the old holder leaves it')
})

t.test('an erasure that empties a batch: the holder finishes it', async t => {
  const e = item('eve')
  const { leases, lease, id } = await heldBatch('instance-1', [e])
  t.equal(await removeItems(store, id, new Set([e.id])), 1)
  await leases.checkpoint(lease)
  t.notOk(lease.lost)
  t.same(lease.batch.items, [])
  await leases.finish(lease)
  t.equal(await store.read(id), null, 'the empty batch is gone')
})
