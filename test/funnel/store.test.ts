// The funnel's S3 objects on the emulator: an empty bucket reads as nothing, parts add up, compaction
// neither loses nor doubles a count (concurrent compactions, a part retried after being compacted), and
// a 90-day report costs a bounded number of requests.
import t from 'tap'
import { S3Client } from '@aws-sdk/client-s3'
import { createJsonStore } from '../../src/storage/json-store.ts'
import { createFunnelStore, monthKey, partId, partsPrefix } from '../../src/funnel/store.ts'
import { addRows, monthsBetween, type FunnelRow } from '../../src/funnel/model.ts'
import { startEmulators } from '../helper.ts'
import { countCalls } from '../cost/count-aws.ts'

const stack = await startEmulators(t)
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())
const json = createJsonStore({ s3, bucket: stack.config.aws.s3.bucket })
const store = createFunnelStore({ json })
const calls = countCalls([s3])

const row = (day: string, counts: FunnelRow['counts'], slug = 'default', version = 'v1'): FunnelRow => ({ day, slug, version, counts })
const NOW = Date.parse('2026-03-31T12:00:00Z')
let seq = 0
const id = (at = NOW) => partId(at, 'test', seq++)

t.test('model: months between two days, rows add up by day, slug and version', async t => {
  t.same(monthsBetween('2025-11-20', '2026-02-01'), ['2025-11', '2025-12', '2026-01', '2026-02'])
  t.same(monthsBetween('2026-03-01', '2026-03-31'), ['2026-03'])
  const sum = addRows(new Map(), [row('2026-03-01', { views: 2 }), row('2026-03-01', { views: 3, sent: 1 }), row('2026-03-01', { views: 1 }, 'default', 'v2')])
  t.same([...sum.values()], [row('2026-03-01', { views: 5, sent: 1 }), row('2026-03-01', { views: 1 }, 'default', 'v2')])
})

t.test('an empty bucket reads as no rows; a bad range reads as none', async t => {
  t.same(await store.read({ from: '2026-01-01', to: '2026-03-31' }), [])
  t.same(await store.read({ from: '2026-03-31', to: '2026-01-01' }), [])
  t.same(await store.read({ from: 'yesterday', to: '2026-01-01' }), [])
})

t.test('parts add up before and after compaction; the range and the slug filter rows', async t => {
  await store.writePart('2026-02', id(), [row('2026-02-27', { views: 3, submissions: 1 }), row('2026-02-28', { views: 1 }, 'other')])
  await store.writePart('2026-03', id(), [row('2026-03-01', { views: 2, sent: 1 })])
  await store.writePart('2026-03', id(), [row('2026-03-01', { views: 1, delivered: 1 }), row('2026-03-02', { opened: 1 })])
  const expected = [
    row('2026-02-27', { views: 3, submissions: 1 }),
    row('2026-02-28', { views: 1 }, 'other'),
    row('2026-03-01', { views: 3, sent: 1, delivered: 1 }),
    row('2026-03-02', { opened: 1 })
  ]
  t.same(await store.read({ from: '2026-02-01', to: '2026-03-31' }), expected, 'parts alone')
  t.equal(await store.compact('2026-03', NOW), 2)
  t.equal(await store.compact('2026-02', NOW), 1)
  t.equal(await store.compact('2026-03', NOW), 0, 'nothing left to add')
  t.same(await store.read({ from: '2026-02-01', to: '2026-03-31' }), expected, 'compacted: the same figures')
  t.same(await store.read({ from: '2026-02-28', to: '2026-03-01', slug: 'default' }), [row('2026-03-01', { views: 3, sent: 1, delivered: 1 })])
  const listed = []
  for await (const entry of json.list(partsPrefix('2026-03'))) listed.push(entry.key)
  t.same(listed, [], 'compacted parts are deleted')
})

t.test('a part written again after its compaction (a flush retried) does not count twice', async t => {
  const retried = id()
  await store.writePart('2026-01', retried, [row('2026-01-05', { views: 1 })])
  await store.compact('2026-01', NOW)
  // The flush's answer was lost: it writes the same part again, under the same id.
  await store.writePart('2026-01', retried, [row('2026-01-05', { views: 1 })])
  t.same(await store.read({ from: '2026-01-01', to: '2026-01-31' }), [row('2026-01-05', { views: 1 })], 'read: absorbed ids are skipped')
  await store.writePart('2026-01', id(), [row('2026-01-05', { views: 1 })])
  await store.compact('2026-01', NOW)
  t.same(await store.read({ from: '2026-01-01', to: '2026-01-31' }), [row('2026-01-05', { views: 2 })], 'compaction skips it too')
  const month = await json.get(monthKey('2026-01'), (await import('../../src/funnel/model.ts')).FunnelMonthSchema)
  t.ok(month?.value.absorbed.includes(retried), 'its id is kept for an hour')
  await store.compact('2026-01', NOW + 2 * 60 * 60 * 1000)
  await store.writePart('2026-01', id(NOW + 2 * 60 * 60 * 1000), [row('2026-01-06', { views: 1 })])
  await store.compact('2026-01', NOW + 2 * 60 * 60 * 1000)
  const later = await json.get(monthKey('2026-01'), (await import('../../src/funnel/model.ts')).FunnelMonthSchema)
  t.notOk(later?.value.absorbed.includes(retried), 'and forgotten once its part is gone and an hour has passed')
})

t.test('concurrent compactions of one month add every part exactly once', async t => {
  const parts = 12
  for (let i = 0; i < parts; i++) await store.writePart('2025-12', id(), [row('2025-12-24', { views: 1, downloads: 2 })])
  await Promise.all([store.compact('2025-12', NOW), store.compact('2025-12', NOW), store.compact('2025-12', NOW)])
  // Anything a losing compaction left is added by the next one.
  await store.compact('2025-12', NOW)
  t.same(await store.read({ from: '2025-12-01', to: '2025-12-31' }), [row('2025-12-24', { views: parts, downloads: 2 * parts })])
})

t.test('a 90-day report costs two requests per month plus the parts not yet compacted', async t => {
  for (const month of ['2026-04', '2026-05', '2026-06']) {
    for (let i = 0; i < 30; i++) await store.writePart(month, id(), [row(`${month}-${String(i + 1).padStart(2, '0')}`, { views: 10, accepted: 2 })])
    await store.compact(month, NOW)
  }
  await store.writePart('2026-06', id(), [row('2026-06-30', { views: 1 })])
  calls.length = 0
  const rows = await store.read({ from: '2026-04-01', to: '2026-06-30' })
  t.equal(rows.length, 90)
  t.equal(rows.reduce((n, r) => n + (r.counts.views ?? 0), 0), 901)
  t.ok(calls.length <= 3 * 2 + 1, `${calls.length} requests (3 months × LIST and GET, and one part)`)
})
