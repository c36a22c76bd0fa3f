// What pages and emails show of the brand: the site name (the host when none is set), image URLs served
// by the app itself (img-src 'self'; versioned by hash so browsers may keep them), and /assets/brand.css,
// the accent as CSS custom properties (style-src 'self': no inline style).
import { createHash } from 'node:crypto'
import { mix, WHITE } from './contrast.ts'
import type { BrandImage, BrandSettings, PageSettings } from './model.ts'

export interface ImageView {
  src: string
  alt: string
  width: number
  height: number
}

export interface PageBrand {
  siteName: string
  logo?: ImageView
  /** /assets/brand.css?v=<hash of its content> */
  css: string
}

export interface PageExtras {
  cover?: ImageView
  learn: string[]
  thanks: string
}

export interface EmailBrand {
  siteName: string
  accent: string
  /** an absolute PUBLIC_URL address: mail clients fetch it from the service */
  logo?: ImageView
}

/** The stylesheet the pages link after site.css: the accent, its hover shade and its light tint. */
export function brandCss (settings: Pick<BrandSettings, 'accent'>): string {
  const { accent } = settings
  return `/* leadlink brand: generated from the brand settings (/admin/brand). */
:root { --brand: ${accent}; --brand-dark: ${mix(accent, '#000000', 0.2)}; --brand-tint: ${mix(accent, WHITE, 0.92)}; }
`
}

export function cssVersion (css: string): string {
  return createHash('sha256').update(css).digest('hex').slice(0, 16)
}

/** The first 16 hex of the image's hash: a new image is a new URL, so the old one may be cached for a year. */
export function imageVersion (image: BrandImage): string {
  return image.name.slice(0, 16)
}

function view (image: BrandImage, src: string): ImageView {
  return { src: `${src}?v=${imageVersion(image)}`, alt: image.alt, width: image.width, height: image.height }
}

export function pageBrand (settings: BrandSettings, host: string): PageBrand {
  return {
    siteName: settings.siteName || host,
    ...(settings.logo ? { logo: view(settings.logo, '/brand/logo') } : {}),
    css: `/assets/brand.css?v=${cssVersion(brandCss(settings))}`
  }
}

export function pageExtras (page: PageSettings): PageExtras {
  return {
    ...(page.cover ? { cover: view(page.cover, `/w/${page.slug}/cover`) } : {}),
    learn: page.learn,
    thanks: page.thanks
  }
}

/** At most this tall in the email (pixels), and never wider than the email's content column allows. */
const EMAIL_LOGO_HEIGHT = 48
const EMAIL_LOGO_MAX_WIDTH = 240

export function emailBrand (settings: BrandSettings, host: string, publicUrl: string): EmailBrand {
  const logo = settings.logo
  let size: { width: number, height: number } | undefined
  if (logo) {
    const height = Math.min(EMAIL_LOGO_HEIGHT, logo.height)
    const width = Math.round(logo.width * height / logo.height)
    size = width > EMAIL_LOGO_MAX_WIDTH
      ? { width: EMAIL_LOGO_MAX_WIDTH, height: Math.max(1, Math.round(logo.height * EMAIL_LOGO_MAX_WIDTH / logo.width)) }
      : { width, height }
  }
  return {
    siteName: settings.siteName || host,
    accent: settings.accent,
    ...(logo && size ? { logo: { src: `${publicUrl}/brand/logo?v=${imageVersion(logo)}`, alt: logo.alt, ...size } } : {})
  }
}
