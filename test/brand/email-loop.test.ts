// The whole loop on the emulators: a brand saved in /admin reaches the next confirmation email that SES
// receives (name, absolute logo URL with its alt text, accent), through the stored SES template and as
// simple content alike; and the logo URL in the email answers with the image.
import t from 'tap'
import { eventually, sentEmails } from '../helper.ts'
import { png } from './images.ts'
import { brandApp, fieldValue, logIn, SAMPLE, uploadImage } from './support.ts'

for (const templates of ['on', 'off']) {
  t.test(`SES_TEMPLATES=${templates}`, async t => {
    const { stack, app } = await brandApp(t, { SES_TEMPLATES: templates, PUBLIC_URL: 'https://whitepapers.acme.test' })
    await app.catalog.publish({ bytes: SAMPLE, filename: 'guide.pdf', title: 'The Guide' })
    await app.ready()
    const admin = await logIn(app)
    const logo = await uploadImage(admin, png(200, 50, [124, 45, 18]))
    const etag = fieldValue((await admin.get('/admin/brand')).body, 'etag')
    const saved = await admin.form('/admin/brand', { etag, siteName: 'Acme <Research>', accent: '#7c2d12', logo: logo.body.name as string, logoAlt: 'Acme Research' })
    t.equal(saved.statusCode, 303)

    const address = `reader-${templates}@example.com`
    const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: address } })
    t.equal(res.statusCode, 202)
    const email = await eventually(async () => (await sentEmails(stack.sesUrl)).find(e => e.destination.to.includes(address)))
    const src = /<img src="(https:\/\/whitepapers\.acme\.test\/brand\/logo\?v=[0-9a-f]{16})" alt="Acme Research" width="192" height="48"/.exec(email.body.html)?.[1]
    t.ok(src, 'the logo from PUBLIC_URL, with alt text and size')
    t.match(email.body.html, 'Acme &lt;Research&gt;')
    t.notMatch(email.body.html, /#1d4ed8/i, 'no default blue')
    t.match(email.body.html, '#7c2d12')
    t.match(email.body.text, 'entered on Acme <Research>.')
    const image = await app.inject({ url: new URL(src as string).pathname + new URL(src as string).search })
    t.equal(image.statusCode, 200)
    t.equal(image.headers['content-type'], 'image/png')
  })
}
