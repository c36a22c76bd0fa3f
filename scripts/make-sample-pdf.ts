// Writes the sample whitepaper that local mode publishes: a small, valid PDF built by hand
// (objects, xref table with exact byte offsets, trailer), so no PDF library is needed.
import { writeFile } from 'node:fs/promises'

function escapePdf (text: string): string {
  return text.replace(/[\\()]/g, c => `\\${c}`)
}

function page (lines: Array<[size: number, text: string]>): string {
  let y = 760
  const ops = ['BT']
  for (const [size, text] of lines) {
    ops.push(`/F1 ${size} Tf 1 0 0 1 72 ${y} Tm (${escapePdf(text)}) Tj`)
    y -= size * 1.8
  }
  ops.push('ET')
  return ops.join('\n')
}

export function samplePdf (title: string): Buffer {
  const pages = [
    page([[26, title], [12, 'A sample whitepaper published by leadlink local mode.'], [12, ''],
      [14, 'Why presigned URLs'], [11, 'The file goes from S3 to the reader directly: the service never streams it,'],
      [11, 'so there is no payload limit to hit and no bandwidth to pay twice.'], [11, ''],
      [14, 'Why the link expires'], [11, 'A link that works forever can be shared forever. Each email carries its own'],
      [11, 'expiring link, and a fresh one can be asked for at any time.']]),
    page([[18, 'Publish your own'], [11, 'npm run whitepaper -- publish my-paper.pdf --title "My paper"'], [11, ''],
      [11, 'New signups get the new version at once; links already sent keep working.']])
  ]
  const objects: string[] = []
  const pageIds = pages.map((_, i) => 4 + i * 2)
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>'
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map(id => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'
  pages.forEach((content, i) => {
    const id = pageIds[i] as number
    objects[id] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${id + 1} 0 R >>`
    objects[id + 1] = `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`
  })
  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n'
  const offsets: number[] = []
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = Buffer.byteLength(out, 'latin1')
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`
  }
  const xref = Buffer.byteLength(out, 'latin1')
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`
  for (let id = 1; id < objects.length; id++) out += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.from(out, 'latin1')
}

if (import.meta.main) {
  const target = new URL('./sample-whitepaper.pdf', import.meta.url)
  await writeFile(target, samplePdf('The Illustrated Guide to Presigned Links'))
  console.log(`wrote ${target.pathname}`)
}
