// Sender heartbeats on the S3 emulator, on a simulated clock driven by hand: senders see each other, a
// killed one ages out, a stopped one leaves at once, S3 trouble keeps the last view, and each heartbeat
// costs one PUT and one LIST.
import t from 'tap'
import { S3Client } from '@aws-sdk/client-s3'
import { createSenders, FORGET_PERIODS, HeartbeatSchema, LIVE_PERIODS, SENDERS_PREFIX, senderKey } from '../../src/outbox/senders.ts'
import { createJsonStore, type JsonStore } from '../../src/storage/json-store.ts'
import { startEmulators } from '../helper.ts'

const PERIOD = 5000

const stack = await startEmulators(t)
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())
const json = createJsonStore({ s3, bucket: stack.config.aws.s3.bucket })

async function keys (): Promise<string[]> {
  const found: string[] = []
  for await (const entry of json.list(SENDERS_PREFIX)) found.push(entry.key)
  return found
}

/** The real store, counting calls, and failing while `down` is set. */
function flakyStore () {
  const calls = { put: 0, list: 0, delete: 0 }
  const state = { down: false }
  const fail = () => { if (state.down) throw Object.assign(new Error('S3 is unreachable'), { name: 'TimeoutError' }) }
  const store: Pick<JsonStore, 'put' | 'list' | 'delete'> = {
    async put (key, value, options) { calls.put++; fail(); return await json.put(key, value, options) },
    async * list (prefix, options) { calls.list++; fail(); yield * json.list(prefix, options) },
    async delete (key) { calls.delete++; fail(); await json.delete(key) }
  }
  return { store, calls, state }
}

function logger () {
  const lines: Array<[string, string]> = []
  return { lines, log: { info: (_o: object, m: string) => lines.push(['info', m]), warn: (_o: object, m: string) => lines.push(['warn', m]) } }
}

t.test('two senders see each other; the later one yields until it has surely been seen; a killed one ages out', async t => {
  let now = 1_000_000
  const clock = () => now
  const a = createSenders({ store: json, owner: 'alpha', periodMs: PERIOD, clock, log: logger().log })
  const b = createSenders({ store: json, owner: 'bravo', periodMs: PERIOD, clock, log: logger().log })
  t.same(await a.beat(), { live: 1, unaware: 0 }, 'alone at first')
  now += 1000
  t.same(await b.beat(), { live: 2, unaware: 1 }, 'the second sees the first, which may not have seen it yet')
  t.ok(a.key < b.key, 'keys sort by start')
  const stored = await json.get(b.key, HeartbeatSchema)
  t.match(stored?.value, { schemaVersion: 1, owner: 'bravo', beat: 1 }, 'the heartbeat object is the schema\'s')
  now += PERIOD
  t.same(await a.beat(), { live: 2, unaware: 0 }, 'the first sees the second at its next heartbeat')
  t.same(await b.beat(), { live: 2, unaware: 1 })
  now += PERIOD
  t.same(await b.beat(), { live: 2, unaware: 0 }, 'two periods on, every running sender has listed it: its full share')

  // b is SIGKILLed: its object stays, unchanged. a keeps beating.
  const changes: number[] = []
  a.onChange(view => changes.push(view.live))
  // a last saw it change at its first heartbeat after b's last one.
  now += PERIOD
  await a.beat()
  for (let i = 0; i < LIVE_PERIODS - 1; i++) {
    now += PERIOD
    t.equal((await a.beat()).live, 2, 'still counted')
  }
  now += PERIOD
  await a.beat()
  t.same(a.view(), { live: 1, unaware: 0 }, `unchanged for ${LIVE_PERIODS} periods as a sees it: gone`)
  t.same(changes, [1], 'the change is announced once')
  t.ok((await keys()).includes(b.key), 'its object is still there for a while')
  for (let i = LIVE_PERIODS; i < FORGET_PERIODS; i++) {
    if (i === FORGET_PERIODS - 1) t.ok((await keys()).includes(b.key), 'kept until then')
    now += PERIOD
    await a.beat()
  }
  t.same(await keys(), [a.key], `after ${FORGET_PERIODS} periods a deletes it`)
  await a.stop()
  t.same(await keys(), [], 'a graceful stop deletes its own')
})

t.test('two senders starting together: exactly one of them yields, and a graceful stop is seen at the next heartbeat', async t => {
  let now = 2_000_000
  const clock = () => now
  const a = createSenders({ store: json, owner: 'a', periodMs: PERIOD, clock, log: logger().log })
  const b = createSenders({ store: json, owner: 'b', periodMs: PERIOD, clock, log: logger().log })
  // Both PUT, then both LIST: each sees the other at its first listing.
  const [va, vb] = await Promise.all([a.beat(), b.beat()])
  t.same([va, vb], [{ live: 2, unaware: 0 }, { live: 2, unaware: 1 }], 'the one that started first (by key) does not wait for the other')
  now += PERIOD
  await b.stop()
  t.notOk((await keys()).includes(b.key), 'stopped: deleted')
  t.same(await a.beat(), { live: 1, unaware: 0 }, 'the other sees it gone at once, not three periods later')
  await a.stop()
})

t.test('each heartbeat is one PUT and one LIST; while S3 fails the last view stays, said once', async t => {
  let now = 3_000_000
  const clock = () => now
  const other = createSenders({ store: json, owner: 'other', periodMs: PERIOD, clock, log: logger().log })
  await other.beat()
  const { store, calls, state } = flakyStore()
  const { lines, log } = logger()
  const me = createSenders({ store, owner: 'me', periodMs: PERIOD, clock, log })
  for (let i = 0; i < 3; i++) {
    now += PERIOD
    await other.beat()
    await me.beat()
  }
  t.same(calls, { put: 3, list: 3, delete: 0 }, 'one PUT and one LIST per heartbeat')
  t.same(me.view(), { live: 2, unaware: 0 })
  state.down = true
  for (let i = 0; i < 2 * LIVE_PERIODS; i++) {
    now += PERIOD
    t.same(await me.beat(), { live: 2, unaware: 0 }, 'S3 down: the last known view, so the last known share')
  }
  t.same(lines.filter(([level]) => level === 'warn').map(([, m]) => m), ['sender heartbeat failed; keeping the last known share'], 'logged once')
  state.down = false
  now += PERIOD
  await other.beat()
  t.same(await me.beat(), { live: 2, unaware: 0 }, 'back: the other one is still there')
  t.same(lines.at(-1), ['info', 'sender heartbeat works again'])
  await other.stop()
  await me.stop()
  t.same(await keys(), [])
})

t.test('a sender stopped before its first heartbeat writes and deletes nothing', async t => {
  const { store, calls } = flakyStore()
  const never = createSenders({ store, owner: 'never', periodMs: PERIOD, clock: Date.now, log: logger().log })
  await never.stop()
  t.same(calls, { put: 0, list: 0, delete: 0 })
  t.equal(await never.beat().then(v => v.live), 1, 'and beats no more')
  t.equal(senderKey(0, 'x'), 'senders/000000000-x.json')
})
