import t from 'tap'
import { compileHtmlTemplate, compileTemplate } from '../../src/delivery/template.ts'
import { createConfirmationEmail, formatBytes, formatExpiry } from '../../src/delivery/confirmation-email.ts'
import type { WhitepaperPointer } from '../../src/whitepapers/catalog.ts'

const pointer: WhitepaperPointer = {
  slug: 'default',
  version: 'v1',
  key: 'whitepapers/default/versions/v1/guide.pdf',
  filename: 'guide.pdf',
  title: 'Guide <to> "S3" & more',
  description: '',
  size: 2_500_000,
  sha256: 'abc',
  activatedAt: '2026-01-01T00:00:00.000Z'
}
const links = {
  confirmUrl: 'https://leadlink.test/c/CONFIRMTOKEN',
  unsubscribeUrl: 'https://leadlink.test/u/UNSUBTOKEN',
  renewUrl: 'https://leadlink.test/d/RENEWTOKEN',
  privacyUrl: 'https://leadlink.test/p/PRIVACYTOKEN'
}
const link = {
  url: 'https://bucket.s3.amazonaws.com/whitepapers/default/versions/v1/guide.pdf?X-Amz-Expires=604800&X-Amz-Signature=abc',
  expiresAt: new Date('2026-12-05T13:55:00Z')
}

t.test('placeholders are filled, HTML values escaped, text values raw', async t => {
  const html = compileHtmlTemplate('<a href="{{u}}">{{t}}</a>')
  t.equal(html.render({ u: 'https://x/?a=1&b=2', t: '<b>' }), '<a href="https://x/?a=1&amp;b=2">&lt;b&gt;</a>')
  const text = compileTemplate('{{t}} and {{t}}')
  t.equal(text.render({ t: '<b>' }), '<b> and <b>')
  t.same([...html.names], ['u', 't'])
  t.throws(() => text.render({}), /template value missing: t/)
})

t.test('the compiled confirmation email carries the link, the expiry and the file facts', async t => {
  const email = createConfirmationEmail({ subject: 'Your copy of {{title}}', site: 'leadlink.test' })
  const rendered = email.render({ pointer, link, links })
  t.equal(rendered.subject, 'Your copy of Guide <to> "S3" & more')
  t.match(rendered.text, link.url)
  t.match(rendered.text, '5 December 2026 at 13:55 UTC')
  t.match(rendered.text, 'guide.pdf (2.4 MB)')
  t.match(rendered.html, link.url.replace(/&/g, '&amp;'))
  t.match(rendered.html, 'Guide &lt;to&gt; &quot;S3&quot; &amp; more')
  t.notMatch(rendered.html, '<to>', 'the title is escaped in HTML')
  t.notMatch(rendered.html, /\{\{\w+\}\}/, 'no placeholder left')
  t.notMatch(rendered.text, /\{\{\w+\}\}/, 'no placeholder left')
  for (const url of Object.values(links)) {
    t.match(rendered.text, url, 'recipient links in the text part')
    t.match(rendered.html, `href="${url}"`, 'recipient links in the HTML part')
  }
  t.match(rendered.text, 'Link expired? Get a fresh one: https://leadlink.test/d/RENEWTOKEN')
  t.match(rendered.text, 'Your data (download or erase it): https://leadlink.test/p/PRIVACYTOKEN', 'the footer links the self-service page')
  t.match(rendered.html, /<a href="https:\/\/leadlink\.test\/p\/PRIVACYTOKEN"[^>]*>Your data<\/a>/, 'in both parts')
  t.match(rendered.html, '<!doctype html>', 'compiled MJML, not the source')
  t.notMatch(rendered.html, '<mj-', 'no MJML tags remain')
})

t.test('a title with line breaks cannot inject headers into the subject', async t => {
  const email = createConfirmationEmail({ subject: 'Your copy of {{title}}', site: 'leadlink.test' })
  const rendered = email.render({ pointer: { ...pointer, title: 'Guide\r\nBcc: victim@example.com' }, link, links })
  t.equal(rendered.subject, 'Your copy of Guide Bcc: victim@example.com')
})

t.test('a missing compiled template is a clear error', async t => {
  t.throws(() => createConfirmationEmail({ subject: 's', site: 'x', templatesDir: '/nonexistent' }), /run "npm run build"/)
})

t.test('sizes and dates are formatted for people', async t => {
  t.equal(formatBytes(512), '512 bytes')
  t.equal(formatBytes(2048), '2 KB')
  t.equal(formatBytes(3 * 1024 * 1024), '3.0 MB')
  t.equal(formatExpiry(new Date('2026-01-02T03:04:00Z')), '2 January 2026 at 03:04 UTC')
})
