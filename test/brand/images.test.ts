// Brand images are judged by their bytes: PNG, JPEG and WebP pass with their pixel size; SVG, GIF, a PNG
// signature over other data, too many pixels or too many bytes are refused with the field named.
import t from 'tap'
import { checkImage, IMAGE_MAX_BYTES, sniffImage } from '../../src/brand/images.ts'
import { GIF, jpeg, png, SVG, webp } from './images.ts'

t.test('PNG, JPEG and WebP pass, with their type, pixels and hash-named file', async t => {
  const p = checkImage(png(40, 12))
  t.match(p, { type: 'png', width: 40, height: 12, name: /^[0-9a-f]{64}\.png$/ })
  t.equal(p.size, png(40, 12).length)
  t.match(checkImage(jpeg(800, 600)), { type: 'jpg', width: 800, height: 600, name: /\.jpg$/ })
  t.match(checkImage(webp(1200, 630)), { type: 'webp', width: 1200, height: 630, name: /\.webp$/ })
})

t.test('other files are refused by their bytes, whatever they are called', async t => {
  t.equal(sniffImage(SVG), null)
  t.throws(() => checkImage(SVG, 'logo'), { code: 'image_type', field: 'logo' }, 'SVG can carry script')
  t.throws(() => checkImage(GIF), { code: 'image_type' })
  t.throws(() => checkImage(Buffer.from('%PDF-1.7 not an image')), { code: 'image_type' })
  // A PNG signature followed by JPEG data: the parser and the signature disagree.
  t.throws(() => checkImage(Buffer.concat([png(1, 1).subarray(0, 8), jpeg(10, 10)])), { code: 'image_invalid' })
  t.throws(() => checkImage(png(10, 10).subarray(0, 12)), { code: 'image_invalid' }, 'truncated')
})

t.test('size and pixel limits', async t => {
  t.throws(() => checkImage(jpeg(4001, 10)), { code: 'image_pixels', message: /4001×10 pixels/ })
  t.throws(() => checkImage(webp(4000, 3500)), { code: 'image_pixels' }, '14 megapixels')
  t.doesNotThrow(() => checkImage(webp(4000, 3000)), '12 megapixels is the limit')
  t.throws(() => checkImage(Buffer.concat([png(2, 2), Buffer.alloc(IMAGE_MAX_BYTES)])), { code: 'image_too_large' })
})
