// The embed page's words: what FORM_ORIGINS allows and what to add, and whether a plain form can work
// with the bot checks as configured (it cannot carry the signed stamp or solve the ALTCHA puzzle).
import t from 'tap'
import { embedSnippets } from '../../src/brand/snippets.ts'
import { embedPage } from '../../src/http/views/admin-brand.ts'

const snippets = embedSnippets({ publicUrl: 'https://papers.acme.test/', slug: 'q3', title: 'Q3 "<Report>"' })
const base = { slug: 'q3', title: 'Q3', publicUrl: 'https://papers.acme.test', captcha: false, ...snippets }

t.test('the snippets: the frame of /embed/<slug> and a form posting to /subscribe, the title escaped', async t => {
  t.equal(snippets.iframe, `<iframe src="https://papers.acme.test/embed/q3" title="Q3 &quot;&lt;Report&gt;&quot;: get it by email"
        style="border:0;width:100%;max-width:40rem;height:36rem" loading="lazy"></iframe>`)
  t.match(snippets.form, '<form method="post" action="https://papers.acme.test/subscribe">')
  t.match(snippets.form, '<input type="hidden" name="slug" value="q3">')
  t.match(snippets.form, 'By submitting this form you agree')
})

t.test('FORM_ORIGINS set or not, bot checks on or off', async t => {
  const open = embedPage({ csrf: 'x', site: 'papers.acme.test' }, { ...base, formOrigins: ['https://www.acme.test'], botMinFillSeconds: 0 })
  t.match(open, '<code>FORM_ORIGINS</code> is set: pages on <code>https://www.acme.test</code> may show and send the form.')
  t.match(open, 'Bot checks are off')
  t.notMatch(open, 'Not with the current settings')
  const closed = embedPage({ csrf: 'x', site: 'papers.acme.test' }, { ...base, formOrigins: [], botMinFillSeconds: 2 })
  t.match(closed, '<code>FORM_ORIGINS</code> is not set: only pages on <code>https://papers.acme.test</code> may show the form.')
  t.match(closed, 'Not with the current settings: <code>BOT_MIN_FILL_SECONDS=2</code> needs the signed time stamp')
  t.match(closed, 'Use the frame above: it works without JavaScript too.')
  const captcha = embedPage({ csrf: 'x', site: 'papers.acme.test' }, { ...base, formOrigins: [], botMinFillSeconds: 0, captcha: true })
  t.match(captcha, '<code>CAPTCHA=altcha</code> needs the puzzle')
})
