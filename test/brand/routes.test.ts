// /admin/brand and /admin/w/<slug>/page on the emulators: log-in and CSRF, the accent's contrast check
// (the ratio named), alt text required, images judged by their bytes, hostile names escaped everywhere,
// two saves at once (a 409, not a lost update), and the landing and thank-you pages, /assets/brand.css,
// /brand/logo and /w/<slug>/cover showing it all from the app's own origin.
import t from 'tap'
import { brandApp, fieldValue, logIn, SAMPLE, uploadImage } from './support.ts'
import { png, SVG } from './images.ts'

const { app } = await brandApp(t)
await app.catalog.publish({ bytes: SAMPLE, filename: 'guide.pdf', title: 'The Guide', description: 'All about links.' })
const admin = await logIn(app)

t.test('log-in and the CSRF token guard every brand route', async t => {
  const page = await app.inject({ url: '/admin/brand' })
  t.equal(page.statusCode, 303)
  t.equal(page.headers.location, '/admin/login')
  const anonymous = await app.inject({ method: 'POST', url: '/admin/brand', headers: { accept: 'application/json' }, payload: { etag: '', siteName: 'x', accent: '#1d4ed8' } })
  t.equal(anonymous.statusCode, 401)
  const forged = await app.inject({ method: 'POST', url: '/admin/brand', headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'etag=&siteName=x&accent=%231d4ed8' })
  t.equal(forged.statusCode, 403, 'no CSRF token')
  const ticket = await app.inject({ method: 'POST', url: '/admin/brand/images', headers: { cookie: admin.cookie, accept: 'application/json' }, payload: { size: 10 } })
  t.equal(ticket.statusCode, 403)
  t.equal((await app.inject({ url: '/admin/w/default/embed' })).statusCode, 303)
  t.equal((await app.inject({ url: '/admin/w/default/page' })).statusCode, 303)
})

t.test('an accent too light for white text is refused, the ratio named, what was typed kept', async t => {
  const page = await admin.get('/admin/brand')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-security-policy'], "style-src 'self'")
  const etag = fieldValue(page.body, 'etag')
  const res = await admin.form('/admin/brand', { etag, siteName: 'Acme Research', accent: '#ffcc00' })
  t.equal(res.statusCode, 422)
  t.match(res.body, /White text on #ffcc00 has a contrast of 1\.\d\d:1; it needs at least 4\.5:1/)
  t.match(res.body, 'id="accent-error"')
  t.match(res.body, /id="accent"[^>]*aria-invalid="true" aria-describedby="accent-error"/)
  t.equal(fieldValue(res.body, 'siteName'), 'Acme Research')
  const bad = await admin.form('/admin/brand', { etag, siteName: 'Acme', accent: 'red;}body{display:none' })
  t.equal(bad.statusCode, 422)
  t.match(bad.body, 'The accent colour is a hex colour like #1d4ed8.')
  const json = await admin.api('/admin/brand', { etag, siteName: 'Acme', accent: '#eeeeee' })
  t.equal(json.statusCode, 422)
  t.match(json.json(), { code: 'accent_contrast', field: 'accent' })
  t.equal((await app.brand.read()).etag, '', 'nothing was saved')
})

t.test('a hostile site name is escaped on every page; the accent reaches /assets/brand.css', async t => {
  const etag = fieldValue((await admin.get('/admin/brand')).body, 'etag')
  const name = '<script>alert("x")</script> & \'Acme\''
  const saved = await admin.form('/admin/brand', { etag, siteName: name, accent: '#0F766E' })
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, '/admin/brand?saved=1')
  const landing = await app.inject({ url: '/' })
  t.notMatch(landing.body, '<script>alert', 'never markup')
  t.match(landing.body, '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Acme&#39;')
  const css = /<link rel="stylesheet" href="(\/assets\/brand\.css\?v=[0-9a-f]{16})">/.exec(landing.body)?.[1]
  t.ok(css, 'the page links the brand stylesheet, versioned')
  const sheet = await app.inject({ url: css as string })
  t.equal(sheet.statusCode, 200)
  t.match(sheet.headers['content-type'], 'text/css')
  t.match(sheet.body, '--brand: #0f766e;', 'the colour as typed, normalised')
  t.equal(sheet.headers['cache-control'], 'public, max-age=31536000, immutable', 'the versioned URL never changes')
  const unversioned = await app.inject({ url: '/assets/brand.css' })
  t.equal(unversioned.headers['cache-control'], 'public, max-age=0, must-revalidate')
  t.equal((await app.inject({ url: '/assets/brand.css', headers: { 'if-none-match': String(unversioned.headers.etag) } })).statusCode, 304)
  const adminPage = await admin.get('/admin/brand?saved=1')
  t.notMatch(adminPage.body, '<script>alert')
  t.match(adminPage.body, 'Saved.')
  t.equal(fieldValue(adminPage.body, 'siteName'), name.replace(/\s+/g, ' '))
})

t.test('a logo: checked by its bytes, alt text required, served by the app with its alt text', async t => {
  const svg = await uploadImage(admin, SVG, 'image/svg+xml')
  t.equal(svg.status, 422)
  t.match(svg.body, { code: 'image_type', message: 'The file is not a PNG, JPEG or WebP image.' })
  const logo = png(160, 48, [15, 118, 110])
  const checked = await uploadImage(admin, logo)
  t.equal(checked.status, 200)
  t.match(checked.body, { name: /^[0-9a-f]{64}\.png$/, width: 160, height: 48 })
  const name = checked.body.name as string

  const page = await admin.get('/admin/brand')
  const etag = fieldValue(page.body, 'etag')
  const fields = { etag, siteName: 'Acme Research', accent: '#0f766e', logo: name }
  const noAlt = await admin.form('/admin/brand', { ...fields, logoAlt: '  ' })
  t.equal(noAlt.statusCode, 422)
  t.match(noAlt.body, 'Describe the logo in its alt text')
  t.match(noAlt.body, /id="logoAlt"[^>]*aria-invalid="true"/)
  const unknown = await admin.form('/admin/brand', { ...fields, logo: `${'a'.repeat(64)}.png`, logoAlt: 'Acme' })
  t.equal(unknown.statusCode, 422, 'a name that was never checked')
  t.equal((await admin.form('/admin/brand', { ...fields, logoAlt: 'Acme Research' })).statusCode, 303)

  const img = /<img class="logo" src="(\/brand\/logo\?v=[0-9a-f]{16})" alt="Acme Research" width="160" height="48">/.exec((await app.inject({ url: '/' })).body)
  t.ok(img, 'the logo with its alt text and size (no layout shift)')
  const served = await app.inject({ url: img?.[1] as string })
  t.equal(served.statusCode, 200)
  t.equal(served.headers['content-type'], 'image/png')
  t.equal(served.headers['x-content-type-options'], 'nosniff')
  t.equal(served.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.same(served.rawPayload, logo, 'the very bytes uploaded')
  const etagHeader = String(served.headers.etag)
  t.equal((await app.inject({ url: '/brand/logo', headers: { 'if-none-match': etagHeader } })).statusCode, 304, 'a cached copy is confirmed without a download')
  t.equal((await app.inject({ url: '/brand/logo' })).headers['cache-control'], 'public, max-age=0, must-revalidate')

  // Removing it: the page goes back to the name alone.
  const again = fieldValue((await admin.get('/admin/brand')).body, 'etag')
  t.equal((await admin.form('/admin/brand', { ...fields, etag: again, logoAlt: 'Acme Research', removeLogo: '1' })).statusCode, 303)
  t.notMatch((await app.inject({ url: '/' })).body, 'class="logo"')
  t.equal((await app.inject({ url: '/brand/logo' })).statusCode, 404)
})

t.test('two marketers save at once: the second is told, nothing is lost', async t => {
  const etag = fieldValue((await admin.get('/admin/brand')).body, 'etag')
  t.equal((await admin.form('/admin/brand', { etag, siteName: 'First', accent: '#0f766e' })).statusCode, 303)
  const second = await admin.form('/admin/brand', { etag, siteName: 'Second', accent: '#b91c1c' })
  t.equal(second.statusCode, 409)
  t.match(second.body, 'Someone else saved the brand settings after you opened this page, so nothing was changed.')
  t.equal(fieldValue(second.body, 'siteName'), 'Second', 'what they typed is still there to copy')
  t.equal((await app.brand.read()).value.siteName, 'First')
})

t.test('a whitepaper\'s cover, learn-list and thank-you text', async t => {
  const cover = await uploadImage(admin, png(300, 420, [200, 200, 220]))
  const etag = fieldValue((await admin.get('/admin/w/default/page')).body, 'etag')
  const base = { etag, cover: cover.body.name as string, coverAlt: 'Cover: <The Guide>', thanks: 'Thanks <b>a lot</b>!\n\nSee you soon.' }
  const tooMany = await admin.form('/admin/w/default/page', { ...base, learn: Array.from({ length: 9 }, (_, i) => `Point ${i}`).join('\n') })
  t.equal(tooMany.statusCode, 422)
  t.match(tooMany.body, 'There are 9 points; at most 8 fit.')
  const tooLong = await admin.form('/admin/w/default/page', { ...base, learn: `Short\n${'x'.repeat(161)}` })
  t.match(tooLong.body, 'Point 2 has 161 characters; at most 160.')
  const noAlt = await admin.form('/admin/w/default/page', { ...base, coverAlt: '', learn: '' })
  t.match(noAlt.body, 'Describe the cover in its alt text')
  const saved = await admin.form('/admin/w/default/page', { ...base, learn: 'Why links expire\r\n\r\n  How to <mint> them  \n' })
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, '/admin/w/default/page?saved=1')

  const landing = (await app.inject({ url: '/' })).body
  t.match(landing, /<img class="cover" src="\/w\/default\/cover\?v=[0-9a-f]{16}" alt="Cover: &lt;The Guide&gt;" width="300" height="420">/)
  t.match(landing, '<h2 class="learn-title">What you will learn</h2>')
  t.match(landing, '<ul class="learn"><li>Why links expire</li><li>How to &lt;mint&gt; them</li></ul>')
  t.match(landing, 'data-thanks="Thanks &lt;b&gt;a lot&lt;/b&gt;!\n\nSee you soon."', 'the script shows it when the form is sent in place')
  const thanks = (await app.inject({ url: '/thanks' })).body
  t.match(thanks, '<div class="thanks"><p>Thanks &lt;b&gt;a lot&lt;/b&gt;!</p><p>See you soon.</p></div>')
  const coverFile = await app.inject({ url: '/w/default/cover' })
  t.equal(coverFile.statusCode, 200)
  t.equal(coverFile.headers['content-type'], 'image/png')
  t.equal((await app.inject({ url: '/w/q9/cover' })).statusCode, 404)
  t.equal((await app.inject({ url: '/w/..%2Fx/cover' })).statusCode, 422, 'not a slug')
})

t.test('the embed page: the snippets, and what FORM_ORIGINS and the bot checks allow', async t => {
  const page = await admin.get('/admin/w/default/embed')
  t.equal(page.statusCode, 200)
  t.match(page.body, '<code>FORM_ORIGINS</code> is not set')
  t.match(page.body, 'FORM_ORIGINS=https://www.example.com')
  t.match(page.body, '&lt;iframe src=&quot;http://localhost:3000/embed/default&quot; title=&quot;The Guide: get it by email&quot;')
  t.match(page.body, '&lt;form method=&quot;post&quot; action=&quot;http://localhost:3000/subscribe&quot;&gt;')
  t.notMatch(page.body, 'Not with the current settings', 'BOT_MIN_FILL_SECONDS=0 here: a plain form works')
})

t.test('a refused address shows the form again in the brand', async t => {
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'email=not-an-address' })
  t.equal(res.statusCode, 422)
  t.match(res.body, /<link rel="stylesheet" href="\/assets\/brand\.css\?v=[0-9a-f]{16}">/)
  t.match(res.body, '<header class="site"><a href="/"><span>First</span></a></header>')
  t.match(res.body, '<ul class="learn">')
})
