// Compiles the MJML emails in templates/ to HTML in templates/build/ (mjml never runs in the server).
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../templates/', import.meta.url))
const out = join(root, 'build')

async function mtime (path: string): Promise<number> {
  try { return (await stat(path)).mtimeMs } catch { return 0 }
}

export async function buildTemplates (options: { force?: boolean } = {}): Promise<string[]> {
  await mkdir(out, { recursive: true })
  const sources = (await readdir(root)).filter(f => f.endsWith('.mjml'))
  const stale: string[] = []
  for (const file of sources) {
    const target = join(out, file.replace(/\.mjml$/, '.html'))
    if (options.force || await mtime(target) < await mtime(join(root, file))) stale.push(file)
  }
  if (stale.length === 0) return []
  const { default: mjml2html } = await import('mjml')
  for (const file of stale) {
    const result = await mjml2html(await readFile(join(root, file), 'utf8'), { validationLevel: 'strict', filePath: join(root, file), minify: true, beautify: false })
    await writeFile(join(out, file.replace(/\.mjml$/, '.html')), result.html)
  }
  return stale
}

