// Brand settings as stored in S3: the site-wide name, logo and accent colour (settings/brand.json) and
// each whitepaper's landing-page extras (whitepapers/<slug>/page.json), validated on every read.
import { type Static, Type } from 'typebox'
import { slugPrefix } from '../whitepapers/keys.ts'

export const BRAND_KEY = 'settings/brand.json'
/** Checked images, named by their sha256: written once by the server, never overwritten. */
export const IMAGES_PREFIX = 'brand/images/'
/** Where the browser's presigned POST puts an image before its check (the PDF uploads' prefix). */
export const IMAGE_UPLOADS_PREFIX = 'uploads/brand/'

export const DEFAULT_ACCENT = '#1d4ed8'
export const SITE_NAME_MAX = 80
export const ALT_MAX = 200
export const LEARN_MAX_ITEMS = 8
export const LEARN_ITEM_MAX = 160
export const THANKS_MAX = 1000
export const ACCENT_PATTERN = '^#[0-9a-f]{6}$'
export const IMAGE_NAME_PATTERN = '^[0-9a-f]{64}\\.(png|jpg|webp)$'

export const IMAGE_TYPES = { png: 'image/png', jpg: 'image/jpeg', webp: 'image/webp' } as const
export type ImageType = keyof typeof IMAGE_TYPES

export function pageKey (slug: string): string {
  return `${slugPrefix(slug)}page.json`
}

export function imageKey (name: string): string {
  return `${IMAGES_PREFIX}${name}`
}

export const ImageSchema = Type.Object({
  /** `<sha256>.<ext>` under brand/images/ */
  name: Type.String({ pattern: IMAGE_NAME_PATTERN }),
  type: Type.Union([Type.Literal('png'), Type.Literal('jpg'), Type.Literal('webp')]),
  width: Type.Integer({ minimum: 1 }),
  height: Type.Integer({ minimum: 1 }),
  size: Type.Integer({ minimum: 1 }),
  alt: Type.String({ minLength: 1, maxLength: ALT_MAX })
})
export type BrandImage = Static<typeof ImageSchema>

export const BrandSettingsSchema = Type.Object({
  /** shown instead of the host; '' means the host */
  siteName: Type.String({ maxLength: SITE_NAME_MAX }),
  accent: Type.String({ pattern: ACCENT_PATTERN }),
  logo: Type.Optional(ImageSchema),
  updatedAt: Type.String()
})
export type BrandSettings = Static<typeof BrandSettingsSchema>

export const PageSettingsSchema = Type.Object({
  slug: Type.String(),
  cover: Type.Optional(ImageSchema),
  /** what the reader will learn: a few short lines */
  learn: Type.Array(Type.String({ minLength: 1, maxLength: LEARN_ITEM_MAX }), { maxItems: LEARN_MAX_ITEMS }),
  /** shown after a signup; '' means the default sentence */
  thanks: Type.String({ maxLength: THANKS_MAX }),
  updatedAt: Type.String()
})
export type PageSettings = Static<typeof PageSettingsSchema>

export const DEFAULT_BRAND: BrandSettings = { siteName: '', accent: DEFAULT_ACCENT, updatedAt: '' }

export function defaultPage (slug: string): PageSettings {
  return { slug, learn: [], thanks: '', updatedAt: '' }
}
