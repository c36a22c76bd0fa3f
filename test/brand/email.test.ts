// The confirmation email in the brand: the site name (escaped), the logo from PUBLIC_URL with its alt
// text, the accent on buttons and links; the SES template stays the same whatever the brand (the
// brand is per-send data), and without a brand the email is as it was.
import t from 'tap'
import { ACCENT_PLACEHOLDER, createConfirmationEmail } from '../../src/delivery/confirmation-email.ts'
import { emailBrand } from '../../src/brand/view.ts'
import type { WhitepaperPointer } from '../../src/whitepapers/catalog.ts'

const pointer: WhitepaperPointer = {
  slug: 'default', version: 'v1', key: 'k', filename: 'guide.pdf', title: 'The Guide', description: '', size: 2048, sha256: 'abc', activatedAt: '2026-01-01T00:00:00.000Z'
}
const links = { confirmUrl: 'https://leadlink.test/c/C', unsubscribeUrl: 'https://leadlink.test/u/U', renewUrl: 'https://leadlink.test/d/R', privacyUrl: 'https://leadlink.test/p/P' }
const link = { url: 'https://bucket.s3.amazonaws.com/x.pdf?X-Amz-Signature=abc', expiresAt: new Date('2026-12-05T13:55:00Z') }
const email = createConfirmationEmail({ subject: 'Your copy of {{title}}', site: 'leadlink.test' })
const logo = { name: `${'ab'.repeat(32)}.png`, type: 'png' as const, width: 400, height: 100, size: 999, alt: 'Acme "Research" <logo>' }

t.test('name, logo and accent in the HTML part; the name in the text part', async t => {
  const brand = emailBrand({ siteName: '<b>Acme</b> & Co', accent: '#0f766e', logo, updatedAt: '' }, 'leadlink.test', 'https://leadlink.test')
  t.same(brand.logo, { src: 'https://leadlink.test/brand/logo?v=abababababababab', alt: 'Acme "Research" <logo>', width: 192, height: 48 }, 'absolute URL, 48 px high')
  const rendered = email.render({ pointer, link, links, brand })
  t.match(rendered.html, '<img src="https://leadlink.test/brand/logo?v=abababababababab" alt="Acme &quot;Research&quot; &lt;logo&gt;" width="192" height="48"')
  t.match(rendered.html, '&lt;b&gt;Acme&lt;/b&gt; &amp; Co')
  t.notMatch(rendered.html, '<b>Acme', 'the name is never markup')
  t.notMatch(rendered.html, new RegExp(ACCENT_PLACEHOLDER, 'i'), 'no default blue left')
  t.ok((rendered.html.match(/#0f766e/g) ?? []).length >= 4, 'buttons and links carry the accent')
  t.match(rendered.text, 'entered on <b>Acme</b> & Co.', 'plain text is not HTML: the name as it is')
  t.notMatch(rendered.html, /\{\{\w+\}\}/)
})

t.test('the SES template is the same whatever the brand: the brand travels as per-send data', async t => {
  const other = createConfirmationEmail({ subject: 'Your copy of {{title}}', site: 'other.test' })
  t.equal(email.sesTemplate.name, other.sesTemplate.name)
  t.match(email.sesTemplate.html, '{{{h.accent}}}')
  t.match(email.sesTemplate.html, '{{{h.brandHeader}}}')
  const brand = emailBrand({ siteName: 'Acme <x>', accent: '#b91c1c', logo, updatedAt: '' }, 'leadlink.test', 'https://leadlink.test')
  const rendered = email.render({ pointer, link, links, brand })
  const data = JSON.parse(rendered.template?.data ?? '{}') as { h: Record<string, string>, t: Record<string, string> }
  t.equal(data.h.accent, '#b91c1c')
  t.match(data.h.brandHeader, '<img src="https://leadlink.test/brand/logo?v=')
  t.match(data.h.brandHeader, 'Acme &lt;x&gt;')
  t.equal(data.h.site, 'Acme &lt;x&gt;')
  t.equal(data.t.site, 'Acme <x>')
  // What SES would build from the stored template and this data is the email sent as simple content.
  const filled = email.sesTemplate.html.replace(/\\\{\{\{/g, '{{{').replace(/\{\{\{h\.(\w+)\}\}\}/g, (_m, name: string) => data.h[name] ?? '')
  t.equal(filled, rendered.html)
})

t.test('without a brand: the host and the default colour, no image', async t => {
  const rendered = email.render({ pointer, link, links })
  t.match(rendered.html, ACCENT_PLACEHOLDER)
  t.notMatch(rendered.html, '<img')
  t.match(rendered.html, 'leadlink.test')
})

t.test('a wide logo is fitted to 240 pixels', async t => {
  const brand = emailBrand({ siteName: '', accent: '#1d4ed8', logo: { ...logo, width: 2000, height: 100 }, updatedAt: '' }, 'host.test', 'https://host.test')
  t.match(brand, { siteName: 'host.test', logo: { width: 240, height: 12 } })
})
