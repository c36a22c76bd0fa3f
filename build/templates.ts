// Compiles the MJML emails in templates/ to HTML in templates/build/ (mjml never runs in the server).
// The output is committed, with the sha256 of the source it came from beside it: a production install
// (no devDependencies, so no mjml) still has its emails, and a stale output is rebuilt or reported.
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../templates/', import.meta.url))
const out = join(root, 'build')

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** The templates whose built HTML is missing or was built from another source. */
export async function staleTemplates (): Promise<string[]> {
  const sources = (await readdir(root)).filter(f => f.endsWith('.mjml')).sort()
  const stale: string[] = []
  for (const file of sources) {
    const built = await readFile(join(out, `${file}.sha256`), 'utf8').catch(() => '')
    const html = await readFile(join(out, file.replace(/\.mjml$/, '.html')), 'utf8').catch(() => '')
    if (!html || built.trim() !== sha256(await readFile(join(root, file), 'utf8'))) stale.push(file)
  }
  return stale
}

export async function buildTemplates (options: { force?: boolean } = {}): Promise<string[]> {
  await mkdir(out, { recursive: true })
  const stale = options.force ? (await readdir(root)).filter(f => f.endsWith('.mjml')) : await staleTemplates()
  if (stale.length === 0) return []
  const { default: mjml2html } = await import('mjml')
  for (const file of stale) {
    const source = await readFile(join(root, file), 'utf8')
    // CSS minification would need cssnano (and postcss) for 2 % of the HTML: left out.
    const result = await mjml2html(source, { validationLevel: 'strict', filePath: join(root, file), minify: true, beautify: false, minifyOptions: { minifyCss: false } })
    await writeFile(join(out, file.replace(/\.mjml$/, '.html')), result.html)
    await writeFile(join(out, `${file}.sha256`), `${sha256(source)}\n`)
  }
  return stale
}
