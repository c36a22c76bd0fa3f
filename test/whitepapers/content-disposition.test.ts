import t from 'tap'
import { attachmentDisposition, cleanFilename, keySafeFilename } from '../../src/whitepapers/content-disposition.ts'

t.test('ASCII names are quoted as they are', async t => {
  t.equal(attachmentDisposition('report-2026.pdf'), 'attachment; filename="report-2026.pdf"')
  t.equal(attachmentDisposition('Q3 report.pdf'), 'attachment; filename="Q3 report.pdf"')
})

t.test('non-ASCII names get an ASCII fallback and an RFC 5987 filename*', async t => {
  t.equal(attachmentDisposition('Études d’été.pdf'),
    'attachment; filename="Etudes d_ete.pdf"; filename*=UTF-8\'\'%C3%89tudes%20d%E2%80%99%C3%A9t%C3%A9.pdf')
  t.equal(attachmentDisposition('報告.pdf'), 'attachment; filename="__.pdf"; filename*=UTF-8\'\'%E5%A0%B1%E5%91%8A.pdf')
})

t.test('quotes, control characters, paths and percent signs cannot break the header', async t => {
  t.equal(attachmentDisposition('a"b.pdf'), 'attachment; filename="ab.pdf"')
  t.equal(attachmentDisposition('evil\r\nSet-Cookie: x.pdf'), 'attachment; filename="evilSet-Cookie: x.pdf"')
  t.equal(attachmentDisposition('../../etc/passwd.pdf'), 'attachment; filename="passwd.pdf"')
  t.equal(attachmentDisposition('100%.pdf'), 'attachment; filename="100_.pdf"; filename*=UTF-8\'\'100%25.pdf')
  t.equal(attachmentDisposition(''), 'attachment; filename="download.pdf"')
})

t.test('key-safe names keep only portable characters', async t => {
  t.equal(keySafeFilename('Q3 report (final).pdf'), 'Q3-report-final-.pdf')
  t.equal(keySafeFilename('Études.pdf'), 'Etudes.pdf')
  t.equal(keySafeFilename('..hidden.pdf'), 'hidden.pdf')
  t.equal(keySafeFilename('報告'), 'whitepaper.pdf')
  t.equal(cleanFilename('C:\\Users\\me\\paper.pdf'), 'paper.pdf')
})
