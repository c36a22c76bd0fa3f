// The report's CSV: a header, one row per day, whitepaper and version with every step (0 when absent),
// rows in order and added up, the range and whitepaper filters, and formula-like cells neutralised.
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { CSV_HEADER, funnelCsv } from '../../src/funnel/csv.ts'
import { FUNNEL_STEPS } from '../../src/funnel/model.ts'

const V1 = '20260301T090000Z-aaaaaaaa'

t.test('header and rows: every step, zeros filled, sorted, duplicates added, filtered', async t => {
  const csv = funnelCsv([
    { day: '2026-03-03', slug: 'guide', version: V1, counts: { views: 5, sent: 2 } },
    { day: '2026-03-02', slug: 'q3', version: '', counts: { views: 1 } },
    { day: '2026-03-02', slug: 'guide', version: V1, counts: { views: 7, renderingFailures: 1 } },
    { day: '2026-03-03', slug: 'guide', version: V1, counts: { views: 1 } },
    { day: '2026-04-01', slug: 'guide', version: V1, counts: { views: 100 } }
  ], { from: '2026-03-01', to: '2026-03-31' })
  const lines = csv.split('\r\n')
  t.equal(lines[0], `day,slug,version,${FUNNEL_STEPS.join(',')}`, 'CRLF line ends, a header naming every step')
  t.equal(lines[0], CSV_HEADER.join(','))
  t.equal(lines[1], `2026-03-02,guide,${V1},7,0,0,0,0,0,0,0,0,0,0,0,0,0,1`)
  t.equal(lines[2], '2026-03-02,q3,,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0', 'the unknown version is an empty cell')
  t.equal(lines[3], `2026-03-03,guide,${V1},6,0,0,2,0,0,0,0,0,0,0,0,0,0,0`, 'two parts of one day added up')
  t.equal(lines[4], '', 'ends with a line end; April is outside the range')
  t.equal(lines.length, 5)
  const only = parse(funnelCsv([
    { day: '2026-03-02', slug: 'q3', version: '', counts: { views: 1 } },
    { day: '2026-03-02', slug: 'guide', version: V1, counts: { views: 7 } }
  ], { from: '2026-03-01', to: '2026-03-31', slug: 'q3' }), { columns: true }) as Array<Record<string, string>>
  t.same(only.map(r => [r.slug, r.views]), [['q3', '1']], 'one whitepaper')
})

t.test('no rows: the header alone', async t => {
  t.equal(funnelCsv([], { from: '2026-03-01', to: '2026-03-02' }), `${CSV_HEADER.join(',')}\r\n`)
})

t.test('CSV injection: a cell a spreadsheet would run is prefixed with an apostrophe and quoted when needed', async t => {
  const csv = funnelCsv([
    { day: '2026-03-02', slug: '=HYPERLINK("http://x","y")', version: '+1', counts: { views: 1 } },
    { day: '2026-03-02', slug: '@sum', version: '-2', counts: {} }
  ], { from: '2026-03-01', to: '2026-03-31' })
  const rows = parse(csv, { columns: true }) as Array<Record<string, string>>
  t.same(rows.map(r => [r.slug, r.version]).sort(), [["'=HYPERLINK(\"http://x\",\"y\")", "'+1"], ["'@sum", "'-2"]])
})
