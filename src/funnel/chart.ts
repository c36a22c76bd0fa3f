// The report's daily chart as SVG rendered on the server (pure): no script, no style attribute or element
// (the admin CSP has style-src 'self'; SVG presentation attributes are not styles), every label escaped.
import { html, type SafeHtml } from '../html.ts'
import type { FunnelStep } from './model.ts'
import { STEP_LABELS, type StepCounts } from './report.ts'

/** The main steps drawn, each with a colour (at least 4.5:1 on white) and a dash so colour is not the only cue. */
export const CHART_SERIES: ReadonlyArray<{ step: FunnelStep, color: string, dash: string }> = [
  { step: 'views', color: '#1d4ed8', dash: '' },
  { step: 'submissions', color: '#c2410c', dash: '8 4' },
  { step: 'delivered', color: '#15803d', dash: '2 3' },
  { step: 'downloads', color: '#7e22ce', dash: '10 3 2 3' },
  { step: 'confirmations', color: '#1f2933', dash: '4 2' }
]

/**
 * Two shapes of the same chart: its text scales with the picture, so a phone gets a narrow drawing whose
 * 12-unit labels stay about 12 px, and a desktop a wide one (admin.css shows one of them).
 */
export const CHART_LAYOUTS = {
  wide: { width: 800, height: 320, fontSize: 13, xLabels: 8 },
  narrow: { width: 360, height: 280, fontSize: 12, xLabels: 4 }
} as const
export type ChartLayout = keyof typeof CHART_LAYOUTS

/** Beyond this many days the dots (each with its figure as a tooltip) would crowd the lines. */
const MAX_DOTS = 62
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** "2026-03-04" as "4 Mar". */
export function shortDay (day: string): string {
  return `${Number(day.slice(8, 10))} ${MONTHS[Number(day.slice(5, 7)) - 1] ?? ''}`
}

/** A y axis from 0 to at least `max` in 1, 2 or 5 times a power of ten (whole numbers: counts). */
export function niceScale (max: number, ticks = 4): { top: number, step: number } {
  const raw = Math.max(max, 1) / ticks
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const norm = raw / magnitude
  const step = Math.max(1, (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude)
  return { top: Math.max(step, Math.ceil(max / step) * step), step }
}

const round = (n: number) => Math.round(n * 10) / 10

export interface ChartInput {
  /** element ids start with this (two charts on a page need two) */
  id: string
  /** the chart's accessible name, e.g. "Daily funnel of “Q3 report”, 1 Mar to 30 Mar 2026" */
  title: string
  days: ReadonlyArray<{ day: string, counts: StepCounts }>
  layout?: ChartLayout
}

export function renderChart (input: ChartInput): SafeHtml {
  const { id, title, days } = input
  const layoutName = input.layout ?? 'wide'
  const { width, height, fontSize, xLabels } = CHART_LAYOUTS[layoutName]
  const max = Math.max(0, ...days.flatMap(d => CHART_SERIES.map(s => d.counts[s.step])))
  const { top, step } = niceScale(max)
  const left = Math.ceil(String(top).length * fontSize * 0.62) + 10
  const plot = { left, top: fontSize, right: width - 12, bottom: height - fontSize * 2.4 }
  const x = (i: number) => days.length === 1 ? (plot.left + plot.right) / 2 : plot.left + i * (plot.right - plot.left) / (days.length - 1)
  const y = (v: number) => plot.bottom - v / top * (plot.bottom - plot.top)

  const grid: SafeHtml[] = []
  for (let v = 0; v <= top; v += step) {
    grid.push(html`<line x1="${plot.left}" x2="${plot.right}" y1="${round(y(v))}" y2="${round(y(v))}" stroke="${v === 0 ? '#52606d' : '#e5e7eb'}" stroke-width="1"/>
<text x="${plot.left - 6}" y="${round(y(v))}" text-anchor="end" dominant-baseline="middle">${v}</text>`)
  }
  const every = Math.ceil(days.length / xLabels)
  const ticks = days.map((d, i) => i % every === 0
    ? html`<text x="${round(x(i))}" y="${round(plot.bottom + fontSize * 1.5)}" text-anchor="${days.length > 1 && i === 0 ? 'start' : 'middle'}">${shortDay(d.day)}</text>`
    : '')
  const series = CHART_SERIES.map(s => {
    const points = days.map((d, i) => `${round(x(i))},${round(y(d.counts[s.step]))}`).join(' ')
    const dots = days.length <= MAX_DOTS
      ? days.map((d, i) => html`<circle cx="${round(x(i))}" cy="${round(y(d.counts[s.step]))}" r="2.5" fill="${s.color}"><title>${shortDay(d.day)}, ${STEP_LABELS[s.step]}: ${d.counts[s.step]}</title></circle>`)
      : []
    return html`<g data-step="${s.step}">${days.length > 1 ? html`<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash || 'none'}" stroke-linejoin="round"/>` : ''}${dots}</g>`
  })
  const totals = CHART_SERIES.map(s => `${STEP_LABELS[s.step]} ${days.reduce((sum, d) => sum + d.counts[s.step], 0)}`).join(', ')
  const desc = days.length === 0
    ? 'No days in this range.'
    : `Daily counts from ${days[0]?.day} to ${days.at(-1)?.day}. Totals: ${totals}. Every figure is in the table that follows the chart.`
  return html`<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-${layoutName}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${id}-title" aria-describedby="${id}-desc" font-size="${fontSize}" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" fill="#1f2933">
<title id="${id}-title">${title}</title>
<desc id="${id}-desc">${desc}</desc>
${grid}
${ticks}
${series}
${max === 0 ? html`<text x="${(plot.left + plot.right) / 2}" y="${round((plot.top + plot.bottom) / 2)}" text-anchor="middle" fill="#52606d">No events in this range</text>` : ''}
</svg>`
}

/** The key to the lines, as HTML beside the chart (legible at any width). */
export function chartLegend (): SafeHtml {
  return html`<ul class="chart-legend">
${CHART_SERIES.map(s => html`<li><svg width="32" height="10" viewBox="0 0 32 10" aria-hidden="true" focusable="false"><line x1="0" y1="5" x2="32" y2="5" stroke="${s.color}" stroke-width="3" stroke-dasharray="${s.dash || 'none'}"/></svg> ${STEP_LABELS[s.step]}</li>`)}
</ul>`
}
