// WCAG contrast of the accent against white text: the figures of the WCAG definition, the refusal that
// names the ratio, and colour input in the forms people type.
import t from 'tap'
import { checkAccent, contrastRatio, formatRatio, mix, normalizeAccent } from '../../src/brand/contrast.ts'
import { brandCss } from '../../src/brand/view.ts'

t.test('contrast ratios as WCAG defines them', async t => {
  t.equal(contrastRatio('#000000', '#ffffff'), 21)
  t.equal(contrastRatio('#ffffff', '#ffffff'), 1)
  t.equal(formatRatio(contrastRatio('#777777', '#ffffff')), '4.47', '#777 just fails AA')
  t.equal(formatRatio(contrastRatio('#767676', '#ffffff')), '4.54', '#767676 just passes')
  t.equal(formatRatio(contrastRatio('#1d4ed8', '#ffffff')), '6.70', 'the default accent')
})

t.test('an accent too light for white text is refused with its ratio', async t => {
  t.equal(checkAccent('#767676'), '#767676')
  t.throws(() => checkAccent('#777777'), { code: 'accent_contrast', field: 'accent', message: /4\.47:1.*at least 4\.5:1/ })
  t.throws(() => checkAccent('#ffcc00'), { code: 'accent_contrast', message: /#ffcc00 has a contrast of 1\.\d\d:1/ })
})

t.test('hex colours as people type them; anything else is refused', async t => {
  t.equal(normalizeAccent(' #1D4ED8 '), '#1d4ed8')
  t.equal(normalizeAccent('1d4ed8'), '#1d4ed8')
  t.equal(normalizeAccent('#abc'), '#aabbcc')
  for (const bad of ['red', '#12345', '#1d4ed8;}body{display:none', 'url(x)', '']) {
    t.throws(() => normalizeAccent(bad), { code: 'accent_invalid', field: 'accent' }, bad)
  }
})

t.test('the stylesheet carries the accent and its shades, nothing else from the settings', async t => {
  t.equal(mix('#1d4ed8', '#000000', 0), '#1d4ed8')
  t.equal(mix('#1d4ed8', '#ffffff', 1), '#ffffff')
  const css = brandCss({ accent: '#0f766e' })
  t.match(css, '--brand: #0f766e;')
  t.match(css, /--brand-dark: #[0-9a-f]{6}; --brand-tint: #[0-9a-f]{6};/)
  t.ok(contrastRatio(mix('#0f766e', '#000000', 0.2), '#ffffff') > contrastRatio('#0f766e', '#ffffff'), 'the hover shade is darker still')
})
