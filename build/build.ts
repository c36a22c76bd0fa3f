// `npm run build`: what `npm start`, the container and Lambda run.
//   1. the MJML emails → templates/build/ (mjml never runs in the server)
//   2. route schemas → dist/schemas.cjs (Ajv never compiles at start-up)
//   3. src/server.ts and src/lambda.ts with their dependencies → dist/node/ (one file each to load
//      instead of hundreds, and no TypeScript to strip)
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type * as esbuild from 'esbuild'
import { buildTemplates, staleTemplates } from './templates.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BUNDLE_DIR = fileURLToPath(new URL('../dist/node/', import.meta.url))

/**
 * How everything is bundled (the bench bundles its bare reference app the same way). Local mode's
 * emulators and the build's own tools stay out: devDependencies, loaded only on `npm start` without
 * a bucket. Everything else is in.
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  outExtension: { '.js': '.mjs' },
  external: ['s3rver', 'aws-ses-v2-local', 'mjml'],
  // Bundled CommonJS packages call require(): give the ES module one.
  banner: { js: "import { createRequire as __leadlinkRequire } from 'node:module'; const require = __leadlinkRequire(import.meta.url);" },
  logLevel: 'warning'
} satisfies esbuild.BuildOptions

/**
 * The bundle sits two folders below the project root, as the sources do, so that files found
 * relative to a module (public/, templates/, dist/schemas.cjs) resolve the same from both.
 */
export async function bundle (outdir = BUNDLE_DIR): Promise<void> {
  await rm(outdir, { recursive: true, force: true })
  const esbuild = await import('esbuild')
  await esbuild.build({ ...BUNDLE_OPTIONS, absWorkingDir: ROOT, entryPoints: { server: 'src/server.ts', lambda: 'src/lambda.ts' }, outdir })
}

/** devDependencies present (a production install, `--omit=dev`, has none of the build tools)? */
function installed (name: string): boolean {
  try { import.meta.resolve(name); return true } catch { return false }
}

if (import.meta.main && !installed('esbuild')) {
  // A production install: the committed email HTML serves as it is, and `npm start` runs the sources.
  const stale = await staleTemplates()
  if (stale.length > 0) {
    process.stderr.write(`leadlink: templates/build is out of date for ${stale.join(', ')} and mjml (a devDependency) is not installed: run \`npm install\` and \`npm run build\`.\n`)
    process.exit(1)
  }
} else if (import.meta.main) {
  const built = await buildTemplates({ force: process.argv.includes('--force') })
  if (built.length > 0) console.log(`templates: compiled ${built.join(', ')}`)
  // After the templates: building the app to collect its schemas reads them.
  const { buildSchemas } = await import('./schemas.ts')
  const schemas = await buildSchemas()
  if (schemas.changed) console.log(`schemas: precompiled ${schemas.validators} validators and ${schemas.serializers} serializers`)
  await bundle()
}
