// The /admin report page: the range and whitepaper form, the funnel with rates, the daily chart (SVG from
// the server, a phone and a desktop drawing) with its figures as a table, and the versions side by side.
import { html, type SafeHtml } from '../../html.ts'
import { CHART_SERIES, chartLegend, renderChart, shortDay } from '../../funnel/chart.ts'
import type { FunnelStep } from '../../funnel/model.ts'
import {
  FUNNEL_PATH, type FunnelReport, formatRate, SIDE_STEPS, STEP_LABELS, type StepFigure, type VersionFigures
} from '../../funnel/report.ts'
import { type AdminContext, layout } from './admin-pages.ts'

/** What a rate is "of", in the words of the table. */
const BASES: Partial<Record<FunnelStep, string>> = {
  views: 'of views',
  submissions: 'of submissions',
  accepted: 'of accepted',
  sent: 'of sent',
  delivered: 'of delivered'
}

export interface ReportWhitepaper { slug: string, title?: string | undefined }
export interface ReportVersionInfo { title?: string | undefined, current: boolean }

export interface ReportPageInput {
  /** the form's values as asked (shown again as typed when they were refused) */
  form: { from: string, to: string, slug: string }
  whitepapers: ReportWhitepaper[]
  /** absent when the range was refused */
  report?: FunnelReport
  /** what the catalog knows of the versions in the report, by slug then version */
  versionInfo?: Map<string, Map<string, ReportVersionInfo>>
  error?: { field: string, message: string }
}

const longDay = (day: string) => `${shortDay(day)} ${day.slice(0, 4)}`

function rangeText (from: string, to: string): string {
  return from === to ? longDay(from) : `${longDay(from)} to ${longDay(to)}`
}

function csvUrl (report: FunnelReport): string {
  const query = new URLSearchParams({ from: report.from, to: report.to, ...(report.slug ? { slug: report.slug } : {}) })
  return `/admin/report.csv?${query}`
}

function rateCell (f: StepFigure): SafeHtml {
  if (!f.of) return html`<td class="num">–</td>`
  return html`<td class="num">${formatRate(f.rate)} <span class="rate-of">${BASES[f.of] ?? ''}</span></td>`
}

function filters (input: ReportPageInput): SafeHtml {
  const { form, whitepapers, error } = input
  const invalid = (field: string) => error?.field === field ? html` aria-invalid="true" aria-describedby="range-error"` : ''
  const slugs = whitepapers.some(w => w.slug === form.slug) || !form.slug ? whitepapers : [...whitepapers, { slug: form.slug }]
  return html`<form method="get" action="/admin/report" class="filters card" id="report-filters">
<div><label for="from">First day</label><input id="from" name="from" type="date" value="${form.from}"${invalid('from')}></div>
<div><label for="to">Last day</label><input id="to" name="to" type="date" value="${form.to}"${invalid('to')}></div>
<div><label for="slug">Whitepaper</label><select id="slug" name="slug"${invalid('slug')}>
<option value="">All whitepapers</option>
${slugs.map(w => html`<option value="${w.slug}"${w.slug === form.slug ? html` selected` : ''}>${w.title ? `${w.title} (${w.slug})` : w.slug}</option>`)}
</select></div>
<div><button type="submit">Show</button></div>
${error ? html`<p class="field-error" role="alert" id="range-error">${error.message}</p>` : ''}
<p class="hint">Days are UTC, both included; at most 366. Empty fields mean the last 30 days.</p>
</form>`
}

function funnelTable (report: FunnelReport): SafeHtml {
  return html`<div class="scroll"><table class="data" id="funnel" aria-labelledby="funnel-heading">
<thead><tr><th scope="col">Step</th><th scope="col" class="num">Count</th><th scope="col" class="num">Rate</th><th scope="col" class="num">Of views</th></tr></thead>
<tbody>
${report.funnel.map(f => html`<tr data-step="${f.step}"><th scope="row">${f.label}</th><td class="num">${f.count}</td>${rateCell(f)}<td class="num">${f.step === 'views' ? '' : formatRate(f.ofViews)}</td></tr>`)}
</tbody>
</table></div>
<h3 id="outcomes-heading">Bounces, complaints and other outcomes</h3>
<div class="scroll"><table class="data" id="outcomes" aria-labelledby="outcomes-heading">
<thead><tr><th scope="col">Outcome</th><th scope="col" class="num">Count</th><th scope="col" class="num">Rate</th></tr></thead>
<tbody>
${report.side.map(f => html`<tr data-step="${f.step}"><th scope="row">${f.label}</th><td class="num">${f.count}</td>${rateCell(f)}</tr>`)}
</tbody>
</table></div>`
}

function daily (report: FunnelReport, name: string): SafeHtml {
  const title = `Daily funnel, ${name}, ${rangeText(report.from, report.to)}`
  return html`<figure class="chart-box" id="daily-chart">
${renderChart({ id: 'chart-wide', title, days: report.days, layout: 'wide' })}
${renderChart({ id: 'chart-narrow', title, days: report.days, layout: 'narrow' })}
<figcaption>${chartLegend()}</figcaption>
</figure>
<details id="by-day-figures">
<summary>The chart's figures, day by day</summary>
<div class="scroll"><table class="data" id="by-day">
<thead><tr><th scope="col">Day</th>${CHART_SERIES.map(s => html`<th scope="col" class="num">${STEP_LABELS[s.step]}</th>`)}</tr></thead>
<tbody>
${report.days.map(d => html`<tr><th scope="row">${d.day}</th>${CHART_SERIES.map(s => html`<td class="num">${d.counts[s.step]}</td>`)}</tr>`)}
</tbody>
</table></div>
</details>`
}

function versionHeader (v: VersionFigures, info: ReportVersionInfo | undefined): SafeHtml {
  const seen = v.firstDay === v.lastDay ? shortDay(v.firstDay) : `${shortDay(v.firstDay)} – ${shortDay(v.lastDay)}`
  return html`<th scope="col" data-version="${v.version}">${v.version ? html`<code>${v.version}</code>` : 'Version unknown'}
${info?.title ? html`<span class="version-title">${info.title}</span>` : ''}
${info?.current ? html`<span class="badge">current</span>` : ''}
<span class="rate-of">events ${seen}</span></th>`
}

function versions (report: FunnelReport, titles: Map<string, string | undefined>, info: ReportPageInput['versionInfo']): SafeHtml {
  if (report.versions.length === 0) return html`<p>No events in this range.</p>`
  const steps = [...FUNNEL_PATH, ...SIDE_STEPS]
  return html`${report.versions.map(({ slug, versions }) => {
    const known = info?.get(slug)
    const byStep = (v: VersionFigures, step: FunnelStep) => [...v.funnel, ...v.side].find(f => f.step === step) as StepFigure
    return html`<section class="versions" data-slug="${slug}">
<h3>${slug ? html`${titles.get(slug) ?? slug} <span class="muted">(${slug})</span>` : 'Whitepaper unknown'}</h3>
${versions.length === 1 ? html`<p class="hint">One version had events in this range; pick a range that spans an activation to compare two.</p>` : ''}
<div class="scroll"><table class="data versions-table">
<thead><tr><th scope="col">Step</th>${versions.map(v => versionHeader(v, known?.get(v.version)))}</tr></thead>
<tbody>
${steps.map(({ step }) => html`<tr data-step="${step}"><th scope="row">${STEP_LABELS[step]}</th>${versions.map(v => {
  const f = byStep(v, step)
  return html`<td class="num">${f.count}${f.of ? html` <span class="rate-of">${formatRate(f.rate)} ${BASES[f.of] ?? ''}</span>` : ''}</td>`
})}</tr>`)}
</tbody>
</table></div>
</section>`
  })}`
}

export function reportPage (ctx: AdminContext, input: ReportPageInput): string {
  const { report } = input
  const titles = new Map(input.whitepapers.map(w => [w.slug, w.title]))
  const name = report?.slug ? `“${titles.get(report.slug) ?? report.slug}”` : 'all whitepapers'
  return layout(ctx, 'Report', html`
<h1>Report</h1>
${filters(input)}
${report
  ? html`<p id="report-range">${rangeText(report.from, report.to)} (UTC), ${name}. <a href="${csvUrl(report)}" download>Download as CSV</a></p>
<h2 id="funnel-heading">Funnel</h2>
${funnelTable(report)}
<p class="hint">Opens are counted only when open tracking is on in the SES configuration set, and many mail apps block it: downloads and confirmations are rated of delivered emails, not of opens. Opens and downloads count emails (an email downloaded twice is one); the other steps count events.</p>
<h2>By day</h2>
${daily(report, name)}
<h2>Versions side by side</h2>
<p class="hint">Each version of a whitepaper with its own funnel: the edition before and after an activation, over the days it had events.</p>
${versions(report, titles, input.versionInfo)}`
  : ''}`)
}
