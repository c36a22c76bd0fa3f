// The heap sizing a scan of every record holds (src/subscribers/export-heap.ts), in a process of its
// own: the young generation V8 grew under load is given back when a scan starts and does not grow
// while it runs; once the last scan ends, V8 grows it again as it did before.
import t from 'tap'
import { childEnv, runNode } from '../process/child.ts'

// Allocations that die young with some survivors at each scavenge: what makes V8 grow its young generation.
const SCRIPT = `
import { getHeapSpaceStatistics } from 'node:v8'
import { holdLeanHeap } from './src/subscribers/export-heap.ts'
const young = () => getHeapSpaceStatistics().find(s => s.space_name === 'new_space').space_size
const churn = () => { let keep = []; for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 100000) keep = [] } }
churn()
const grown = young()
const release = holdLeanHeap()
const second = holdLeanHeap()
const held = young()
churn()
const heldAfterLoad = young()
release()
churn()
const oneLeft = young()
second()
second()
churn()
process.stdout.write(JSON.stringify({ grown, held, heldAfterLoad, oneLeft, after: young() }))
`

/** The most the young generation may be while held: V8 grows it to 128 MB under this load without. */
const SMALL = 8 * 1024 * 1024

t.test('a scan gives back the young generation and keeps it small; the last one to end lets it grow again', async t => {
  const run = await runNode(t, ['--input-type=module', '-e', SCRIPT], childEnv(), 60_000)
  t.equal(run.code, 0, run.stderr)
  const young = JSON.parse(run.stdout) as Record<'grown' | 'held' | 'heldAfterLoad' | 'oneLeft' | 'after', number>
  t.ok(young.grown > young.held, `given back when a scan starts (${young.grown} → ${young.held} bytes)`)
  // V8 rounds the young generation to its pages and may move it by a page or two: small is the point.
  t.ok(young.heldAfterLoad <= SMALL, `kept small under load while a scan runs (${young.heldAfterLoad} bytes)`)
  t.ok(young.oneLeft <= SMALL, `kept small while another scan still runs (${young.oneLeft} bytes)`)
  t.ok(young.after > SMALL, `grown again once the last scan ended (${young.after} bytes); releasing twice counts once`)
})
