// Unit: which step each SES event counts in, which link a Click followed, the version from the email's
// tags, the event's day; local mode's link rewriting (HTML and stored-template data).
import t from 'tap'
import { classifyLink, funnelTags, stepOf, subjectOf, timeOf, type SesEvent } from '../../src/funnel/ses-steps.ts'
import { clickUrl, isTarget, rewriteHtml, rewriteTemplateData } from '../../src/local/ses-events.ts'

const PUBLIC = 'https://leads.example.com'
const PRESIGNED = 'https://bucket.s3.us-east-1.amazonaws.com/whitepapers/default/versions/v/Guide.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260301%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260301T000000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=abc'

t.test('links: presigned download, /c/ confirm, /d/ fresh, /u/ unsubscribe, a link tag, anything else', async t => {
  t.equal(classifyLink(PRESIGNED, undefined, PUBLIC), 'download')
  t.equal(classifyLink(`${PUBLIC}/c/tok`, undefined, PUBLIC), 'confirm')
  t.equal(classifyLink(`${PUBLIC}/d/tok`, undefined, PUBLIC), 'fresh')
  t.equal(classifyLink(`${PUBLIC}/u/tok`, {}, PUBLIC), 'unsubscribe')
  t.equal(classifyLink('https://other.example.com/c/tok', undefined, PUBLIC), 'other', 'another host\'s /c/ is not ours')
  t.equal(classifyLink(`${PUBLIC}/`, undefined, PUBLIC), 'other')
  t.equal(classifyLink('not a url', undefined, PUBLIC), 'other')
  t.equal(classifyLink(undefined, { linkName: ['download'] }, PUBLIC), 'download', 'a linkName tag names the link')
  t.equal(classifyLink(`${PUBLIC}/c/tok`, { linkName: ['whatever'] }, PUBLIC), 'confirm', 'an unknown tag falls back to the URL')
  t.equal(classifyLink('https://host.example/app/d/tok', undefined, 'https://host.example/app'), 'fresh', 'PUBLIC_URL with a path')
})

t.test('event types map to steps; clicks count only on the download link; unique steps say so', async t => {
  const click = (link: string): SesEvent => ({ eventType: 'Click', click: { link } })
  const cases: Array<[SesEvent, unknown]> = [
    [{ eventType: 'Send' }, { step: 'sent', unique: false }],
    [{ eventType: 'Delivery' }, { step: 'delivered', unique: false }],
    [{ eventType: 'Bounce' }, { step: 'bounced', unique: false }],
    [{ eventType: 'Complaint' }, { step: 'complained', unique: false }],
    [{ eventType: 'Reject' }, { step: 'rejected', unique: false }],
    [{ eventType: 'Rendering Failure' }, { step: 'renderingFailures', unique: false }],
    [{ eventType: 'DeliveryDelay' }, { step: 'delayed', unique: true }],
    [{ eventType: 'Open' }, { step: 'opened', unique: true }],
    [click(PRESIGNED), { step: 'downloads', unique: true }],
    [click(`${PUBLIC}/c/tok`), null],
    [click(`${PUBLIC}/d/tok`), null],
    [click(`${PUBLIC}/u/tok`), null],
    [{ eventType: 'Subscription' }, null],
    [{ notificationType: 'Bounce' } as SesEvent, null]
  ]
  for (const [event, expected] of cases) t.same(stepOf(event, PUBLIC), expected, String(event.eventType ?? event.notificationType))
})

t.test('the whitepaper and version come from the email\'s tags; the day from the event\'s own time', async t => {
  const tags = Object.fromEntries(funnelTags({ slug: 'guide', version: '20260301T000000Z-0123abcd' }).map(x => [x.name, [x.value]]))
  t.same(subjectOf({ mail: { tags: { ...tags, 'ses:configuration-set': ['cs'] } } }), { slug: 'guide', version: '20260301T000000Z-0123abcd' })
  t.same(subjectOf({ mail: {} }), { slug: '', version: '' }, 'an email sent before tagging')
  const fallback = Date.parse('2026-03-05T00:00:00Z')
  t.equal(timeOf({ eventType: 'Open', open: { timestamp: '2026-03-03T10:00:00.000Z' }, mail: { timestamp: '2026-03-01T10:00:00.000Z' } }, fallback), Date.parse('2026-03-03T10:00:00.000Z'))
  t.equal(timeOf({ eventType: 'Send', send: {}, mail: { timestamp: '2026-03-01T10:00:00.000Z' } }, fallback), Date.parse('2026-03-01T10:00:00.000Z'))
  t.equal(timeOf({ eventType: 'Send', mail: { timestamp: 'garbage' } }, fallback), fallback)
})

t.test('local mode: only links to the service or the bucket go through the redirect, escaped back into the HTML', async t => {
  const targets = ['http://localhost:3000', 'http://localhost:4569']
  t.ok(isTarget('http://localhost:4569/bucket/key?X-Amz-Signature=1&a=2', targets))
  t.notOk(isTarget('https://evil.example.com/', targets))
  t.notOk(isTarget('javascript:alert(1)', targets))
  const wrap = (url: string) => isTarget(url, targets) ? clickUrl('http://localhost:3000', { k: 'k1', s: 'default', v: 'v1', u: url }) : undefined
  const html = '<a href="http://localhost:4569/b/k?X-Amz-Signature=1&amp;X-Amz-Credential=2">x</a> <a href="https://elsewhere.example/">y</a>'
  const out = rewriteHtml(html, wrap)
  const href = /href="([^"]*)"/.exec(out)?.[1] ?? ''
  const url = new URL(href.replaceAll('&amp;', '&'))
  t.equal(url.pathname, '/local/click')
  t.equal(url.searchParams.get('u'), 'http://localhost:4569/b/k?X-Amz-Signature=1&X-Amz-Credential=2', 'the target round-trips')
  t.notMatch(href, /&(?!amp;)/, 'the href is escaped')
  t.match(out, 'href="https://elsewhere.example/"', 'other links are left alone')
  const data = rewriteTemplateData(JSON.stringify({ h: { downloadUrl: 'http://localhost:4569/b/k?a=1&amp;b=2', title: 'T &amp; U' }, t: { downloadUrl: 'http://localhost:4569/b/k?a=1&b=2' } }), wrap)
  const parsed = JSON.parse(data)
  t.match(parsed.h.downloadUrl, /^http:\/\/localhost:3000\/local\/click\?k=k1&amp;/)
  t.equal(parsed.h.title, 'T &amp; U')
  t.equal(parsed.t.downloadUrl, 'http://localhost:4569/b/k?a=1&b=2', 'the text part is left alone, as SES does')
  t.equal(rewriteTemplateData('not json', wrap), 'not json')
})
