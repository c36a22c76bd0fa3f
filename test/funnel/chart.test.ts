// The server-rendered chart: an accessible SVG (role img, title, desc naming the table), nothing the CSP
// blocks (no style, no script), labels escaped, exact axis and points, the empty and one-day cases.
import t from 'tap'
import { CHART_LAYOUTS, CHART_SERIES, chartLegend, niceScale, renderChart, shortDay } from '../../src/funnel/chart.ts'
import { buildReport, emptyCounts, type StepCounts } from '../../src/funnel/report.ts'

const day = (d: string, counts: Partial<StepCounts>) => ({ day: d, counts: { ...emptyCounts(), ...counts } })

t.test('niceScale: 0 to a round top in 1, 2 or 5 steps, whole numbers', async t => {
  t.same(niceScale(0), { top: 1, step: 1 })
  t.same(niceScale(1), { top: 1, step: 1 })
  t.same(niceScale(3), { top: 3, step: 1 })
  t.same(niceScale(7), { top: 8, step: 2 })
  t.same(niceScale(10), { top: 10, step: 5 })
  t.same(niceScale(37), { top: 40, step: 10 })
  t.same(niceScale(1234), { top: 1500, step: 500 })
})

t.test('shortDay', async t => {
  t.equal(shortDay('2026-03-04'), '4 Mar')
  t.equal(shortDay('2026-12-31'), '31 Dec')
})

t.test('a chart: accessible, responsive, CSP-safe, exact points', async t => {
  const days = [day('2026-03-01', { views: 10, submissions: 4 }), day('2026-03-02', { views: 20, submissions: 5, delivered: 5 }), day('2026-03-03', {})]
  const svg = renderChart({ id: 'c1', title: 'Daily funnel', days }).value
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="chart chart-wide" viewBox="0 0 800 320" role="img" aria-labelledby="c1-title" aria-describedby="c1-desc"/)
  t.notMatch(svg, /\swidth="|\sheight="/, 'no fixed size: the stylesheet makes it as wide as its box')
  t.match(svg, '<title id="c1-title">Daily funnel</title>')
  t.match(svg, '<desc id="c1-desc">Daily counts from 2026-03-01 to 2026-03-03. Totals: Landing-page views 30, Form submissions 9, Delivered 5, Downloaded 0, Newsletter confirmations 0. Every figure is in the table that follows the chart.</desc>')
  t.notMatch(svg, /style|<script|on[a-z]+=|javascript:/i, 'nothing an admin CSP without unsafe-inline would block')
  // y axis 0..20 in steps of 5; plot from y=13 to y=320-13*2.4=288.8; x from left to 788
  for (const v of ['0', '5', '10', '15', '20']) t.match(svg, new RegExp(`dominant-baseline="middle">${v}</text>`), `tick ${v}`)
  t.match(svg, />1 Mar</)
  t.match(svg, />3 Mar</)
  const views = /<g data-step="views"><polyline points="([^"]+)"/.exec(svg)?.[1]
  const left = Math.ceil(2 * 13 * 0.62) + 10
  t.equal(views, `${left},150.9 ${(left + 788) / 2},13 788,288.8`, 'views: 10 halfway up, 20 at the top, 0 on the axis')
  t.match(svg, '<title>2 Mar, Landing-page views: 20</title>', 'each dot tells its figure on hover')
  for (const s of CHART_SERIES) t.match(svg, `data-step="${s.step}"`)
  t.match(svg, 'stroke-dasharray="8 4"', 'series differ by dash, not only colour')
  t.notMatch(svg, 'No events in this range')
})

t.test('escapes the title (a whitepaper title may hold <&">)', async t => {
  const svg = renderChart({ id: 'x', title: 'Q3 <Report> & "friends" \'n\' </svg><script>alert(1)</script>', days: [day('2026-03-01', { views: 1 })] }).value
  t.match(svg, '<title id="x-title">Q3 &lt;Report&gt; &amp; &quot;friends&quot; &#39;n&#39; &lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>')
  t.notMatch(svg, '<script>')
  t.equal(svg.match(/<\/svg>/g)?.length, 1)
})

t.test('no events: the axes and a message, no NaN; one day: dots, no lines', async t => {
  const empty = renderChart({ id: 'e', title: 'Empty', days: buildReport([], { from: '2026-03-01', to: '2026-03-05' }).days }).value
  t.match(empty, 'No events in this range')
  t.notMatch(empty, /NaN|Infinity/)
  const one = renderChart({ id: 'o', title: 'One day', days: [day('2026-03-01', { views: 3 })] }).value
  t.notMatch(one, '<polyline')
  t.match(one, `<circle cx="${(Math.ceil(13 * 0.62) + 10 + 788) / 2}"`, 'centred')
  t.notMatch(one, /NaN|Infinity/)
  const none = renderChart({ id: 'n', title: 'No days', days: [] }).value
  t.match(none, 'No days in this range.')
  t.notMatch(none, /NaN|Infinity/)
})

t.test('the phone layout: a narrow drawing, fewer day labels; long ranges drop the dots', async t => {
  const days = buildReport([], { from: '2026-01-01', to: '2026-03-31' }).days
  const narrow = renderChart({ id: 'n', title: 't', days, layout: 'narrow' }).value
  t.match(narrow, `viewBox="0 0 ${CHART_LAYOUTS.narrow.width} ${CHART_LAYOUTS.narrow.height}"`)
  t.match(narrow, 'class="chart chart-narrow"')
  t.ok((narrow.match(/text-anchor="(start|middle)">\d+ [A-Z][a-z]{2}</g)?.length ?? 0) <= CHART_LAYOUTS.narrow.xLabels, 'at most 4 day labels')
  t.notMatch(narrow, '<circle', '90 days: lines only')
  const wide = renderChart({ id: 'w', title: 't', days }).value
  t.equal(wide.match(/>\d+ [A-Z][a-z]{2}<\/text>/g)?.length, 8, '8 day labels')
})

t.test('the legend is HTML with a sample of each line, hidden from screen readers', async t => {
  const legend = chartLegend().value
  t.equal(legend.match(/<li>/g)?.length, CHART_SERIES.length)
  t.match(legend, 'aria-hidden="true"')
  t.match(legend, 'Landing-page views</li>')
  t.notMatch(legend, /style/)
})
