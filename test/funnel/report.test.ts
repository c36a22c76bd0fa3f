// The report's arithmetic: totals, the rate of each step against the step it follows from, "–" instead of
// NaN, the daily series with its empty days, one whitepaper or all, versions side by side, and the range.
import t from 'tap'
import type { FunnelRow } from '../../src/funnel/model.ts'
import {
  addDays, buildReport, compareVersions, daysBetween, formatRate, isDay, rate, resolveRange, selectRows, sumCounts
} from '../../src/funnel/report.ts'
import { ValidationError } from '../../src/errors.ts'

const V1 = '20260301T090000Z-aaaaaaaa'
const V2 = '20260310T120000Z-bbbbbbbb'

const rows: FunnelRow[] = [
  { day: '2026-03-02', slug: 'guide', version: V1, counts: { views: 100, submissions: 20, accepted: 18, sent: 18, delivered: 17, opened: 9, downloads: 12, confirmations: 6, bounced: 1, complained: 0 } },
  { day: '2026-03-03', slug: 'guide', version: V1, counts: { views: 50, submissions: 10, accepted: 9, sent: 9, delivered: 9, downloads: 5, confirmations: 2, unsubscribes: 1, freshLinks: 2 } },
  { day: '2026-03-11', slug: 'guide', version: V2, counts: { views: 40, submissions: 16, accepted: 16, sent: 16, delivered: 16, downloads: 10, confirmations: 8, complained: 1 } },
  { day: '2026-03-11', slug: 'guide', version: '', counts: { delivered: 1 } },
  { day: '2026-03-03', slug: 'q3', version: '20260201T000000Z-cccccccc', counts: { views: 10, submissions: 3 } },
  // outside the range below: never counted
  { day: '2026-02-28', slug: 'guide', version: V1, counts: { views: 999 } }
]
const range = { from: '2026-03-01', to: '2026-03-14' }

t.test('rate: part of whole, none (not NaN or Infinity) when the whole is 0', async t => {
  t.equal(rate(1, 4), 0.25)
  t.equal(rate(0, 0), null)
  t.equal(rate(5, 0), null)
  t.equal(formatRate(rate(1, 3)), '33.3%')
  t.equal(formatRate(rate(2, 3)), '66.7%')
  t.equal(formatRate(rate(3, 3)), '100.0%')
  t.equal(formatRate(rate(0, 7)), '0.0%')
  t.equal(formatRate(rate(0, 0)), '–', 'an en dash')
  t.equal(formatRate(null), '–')
})

t.test('sumCounts: every step present, missing ones 0, nonsense ignored', async t => {
  const totals = sumCounts([{ day: '2026-03-01', slug: 'a', version: '', counts: { views: 2, sent: Number.NaN, delivered: -3 } }, { day: '2026-03-01', slug: 'b', version: '', counts: { views: 3 } }])
  t.equal(totals.views, 5)
  t.equal(totals.sent, 0)
  t.equal(totals.delivered, 0)
  t.equal(Object.keys(totals).length, 15, 'all fifteen steps')
})

t.test('buildReport, all whitepapers: exact totals and rates', async t => {
  const report = buildReport(rows, range)
  t.equal(report.slug, undefined)
  t.same(report.funnel.map(f => [f.step, f.count, f.of ?? null, f.rate === null ? null : formatRate(f.rate), formatRate(f.ofViews)]), [
    ['views', 200, null, null, '–'],
    ['submissions', 49, 'views', '24.5%', '24.5%'],
    ['accepted', 43, 'submissions', '87.8%', '21.5%'],
    ['sent', 43, 'accepted', '100.0%', '21.5%'],
    ['delivered', 43, 'sent', '100.0%', '21.5%'],
    ['opened', 9, 'delivered', '20.9%', '4.5%'],
    ['downloads', 27, 'delivered', '62.8%', '13.5%'],
    ['confirmations', 16, 'delivered', '37.2%', '8.0%']
  ])
  const side = Object.fromEntries(report.side.map(f => [f.step, [f.count, f.of, formatRate(f.rate)]]))
  t.same(side.bounced, [1, 'sent', '2.3%'], 'bounce rate of sent')
  t.same(side.complained, [1, 'delivered', '2.3%'], 'complaint rate of delivered')
  t.same(side.unsubscribes, [1, 'delivered', '2.3%'])
  t.same(side.freshLinks, [2, 'delivered', '4.7%'])
  t.same(side.rejected, [0, 'sent', '0.0%'])
  t.equal(report.funnel[0]?.label, 'Landing-page views')
})

t.test('buildReport, one whitepaper: only its rows; every day of the range in order, empty ones zero', async t => {
  const report = buildReport(rows, { ...range, slug: 'q3' })
  t.equal(report.slug, 'q3')
  t.equal(report.totals.views, 10)
  t.equal(report.totals.submissions, 3)
  t.equal(formatRate(report.funnel[2]?.rate ?? null), '0.0%', 'accepted of submissions: 0 of 3')
  t.equal(formatRate(report.funnel[4]?.rate ?? null), '–', 'delivered of sent: nothing sent')
  t.equal(report.days.length, 14)
  t.same(report.days.map(d => d.day), daysBetween('2026-03-01', '2026-03-14'))
  t.same(report.days.map(d => d.counts.views), [0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
  t.same(report.versions.map(v => v.slug), ['q3'])
})

t.test('buildReport on no rows: zeros and dashes, never NaN', async t => {
  const report = buildReport([], { from: '2026-03-01', to: '2026-03-01' })
  t.same(report.days, [{ day: '2026-03-01', counts: sumCounts([]) }])
  t.same(report.versions, [])
  for (const f of [...report.funnel, ...report.side]) {
    t.equal(f.count, 0)
    t.equal(f.rate, null, `${f.step}: no rate`)
    t.equal(formatRate(f.rate), '–')
  }
  t.notMatch(JSON.stringify(report), /NaN|Infinity/)
})

t.test('the daily series adds up every version and whitepaper of a day', async t => {
  const report = buildReport(rows, range)
  const day = (d: string) => report.days.find(x => x.day === d)?.counts
  t.equal(day('2026-03-03')?.views, 60, 'guide 50 + q3 10')
  t.equal(day('2026-03-11')?.delivered, 17, 'V2 16 + unknown version 1')
  t.equal(day('2026-02-28'), undefined, 'outside the range')
})

t.test('versions side by side: per whitepaper, oldest first, unknown last, with their own rates', async t => {
  const compared = compareVersions(selectRows(rows, { ...range, slug: 'guide' }))
  t.equal(compared.length, 1)
  const versions = compared[0]?.versions ?? []
  t.same(versions.map(v => [v.version, v.firstDay, v.lastDay]), [
    [V1, '2026-03-02', '2026-03-03'],
    [V2, '2026-03-11', '2026-03-11'],
    ['', '2026-03-11', '2026-03-11']
  ])
  const [before, after, unknown] = versions
  t.equal(before?.totals.views, 150)
  t.equal(formatRate(before?.funnel[1]?.rate ?? null), '20.0%', 'the old edition: 30 of 150 views submitted')
  t.equal(formatRate(after?.funnel[1]?.rate ?? null), '40.0%', 'the new one: 16 of 40')
  t.equal(formatRate(after?.funnel[7]?.rate ?? null), '50.0%', 'confirmations: 8 of 16 delivered')
  t.equal(formatRate(unknown?.funnel[1]?.rate ?? null), '–', 'no views known for the unknown version')
  t.same(compareVersions(selectRows(rows, range)).map(s => s.slug), ['guide', 'q3'])
})

t.test('selectRows adds up a day, slug and version given twice (two reader parts)', async t => {
  const twice = selectRows([
    { day: '2026-03-05', slug: 'a', version: V1, counts: { views: 1 } },
    { day: '2026-03-05', slug: 'a', version: V1, counts: { views: 2, sent: 1 } }
  ], range)
  t.same(twice, [{ day: '2026-03-05', slug: 'a', version: V1, counts: { views: 3, sent: 1 } }])
})

t.test('days: real calendar days only; ranges cross months and years', async t => {
  t.ok(isDay('2026-02-28'))
  t.ok(isDay('2024-02-29'), 'a leap day')
  t.notOk(isDay('2026-02-29'))
  t.notOk(isDay('2026-13-01'))
  t.notOk(isDay('2026-1-01'))
  t.notOk(isDay('yesterday'))
  t.equal(addDays('2026-12-31', 1), '2027-01-01')
  t.equal(addDays('2026-03-01', -1), '2026-02-28')
  t.same(daysBetween('2025-12-30', '2026-01-02'), ['2025-12-30', '2025-12-31', '2026-01-01', '2026-01-02'])
})

t.test('resolveRange: defaults to the last 30 days; bad or too long ranges are validation errors on a field', async t => {
  t.same(resolveRange({}, '2026-03-30'), { from: '2026-03-01', to: '2026-03-30' }, '30 days ending today')
  t.same(resolveRange({ from: '', to: '' }, '2026-03-30'), { from: '2026-03-01', to: '2026-03-30' }, 'empty fields are defaults')
  t.same(resolveRange({ to: '2026-01-31' }, '2026-03-30'), { from: '2026-01-02', to: '2026-01-31' })
  t.same(resolveRange({ from: '2026-03-30', to: '2026-03-30' }, '2026-03-30'), { from: '2026-03-30', to: '2026-03-30' }, 'one day')
  t.same(resolveRange({ from: '2025-03-31', to: '2026-03-31' }, '2026-03-31'), { from: '2025-03-31', to: '2026-03-31' }, '366 days is the most')
  const fails = (input: { from?: string, to?: string }, code: string, field: string) => {
    try {
      resolveRange(input, '2026-03-30')
      t.fail(`${JSON.stringify(input)} passed`)
    } catch (err) {
      t.ok(err instanceof ValidationError, JSON.stringify(input))
      t.equal((err as ValidationError).code, code)
      t.equal((err as ValidationError).field, field)
      t.equal((err as ValidationError).statusCode, 422)
    }
  }
  fails({ from: '2025-03-30', to: '2026-03-31' }, 'range_too_long', 'from')
  fails({ from: '2026-03-10', to: '2026-03-09' }, 'range_invalid', 'from')
  fails({ from: '2026-02-30' }, 'range_invalid', 'from')
  fails({ to: '31/03/2026' }, 'range_invalid', 'to')
})
