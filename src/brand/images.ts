// Brand images are checked by their bytes, never by their name or declared type: PNG, JPEG or WebP
// only (no SVG, which can carry script), within a size and pixel limit.
import { createHash } from 'node:crypto'
import { imageSize } from 'image-size'
import { ValidationError } from '../errors.ts'
import type { ImageType } from './model.ts'

export const IMAGE_MAX_BYTES = 2 * 1024 * 1024
/** Per side: larger images only cost bytes on a landing page. */
export const IMAGE_MAX_SIDE = 4000
/** Decoded size bound (width × height): a small file can still decode to gigabytes in a browser. */
export const IMAGE_MAX_PIXELS = 12_000_000

export interface CheckedImage {
  type: ImageType
  width: number
  height: number
  size: number
  sha256: string
  /** `<sha256>.<ext>`: the checked image's name under brand/images/ */
  name: string
}

/** The file's own signature, before any parser sees it. https://www.w3.org/TR/png/#5PNG-file-signature */
export function sniffImage (bytes: Uint8Array): ImageType | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png'
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpg'
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp'
  return null
}

const NAMES: Record<string, ImageType> = { png: 'png', jpg: 'jpg', webp: 'webp' }

export function checkImage (bytes: Uint8Array, field = 'file'): CheckedImage {
  if (bytes.byteLength > IMAGE_MAX_BYTES) {
    throw new ValidationError('image_too_large', `The image is ${bytes.byteLength} bytes; the limit is ${IMAGE_MAX_BYTES} bytes (2 MB).`, field)
  }
  const type = sniffImage(bytes)
  if (!type) throw new ValidationError('image_type', 'The file is not a PNG, JPEG or WebP image.', field)
  let size: { width?: number | undefined, height?: number | undefined, type?: string | undefined }
  try {
    size = imageSize(bytes)
  } catch {
    throw new ValidationError('image_invalid', 'The image could not be read: it is damaged or not a PNG, JPEG or WebP.', field)
  }
  // The parser must agree with the signature (a PNG signature over JPEG data is not an image we serve).
  const width = size.width ?? 0
  const height = size.height ?? 0
  if (NAMES[size.type ?? ''] !== type || width < 1 || height < 1) {
    throw new ValidationError('image_invalid', 'The image could not be read: it is damaged or not a PNG, JPEG or WebP.', field)
  }
  if (width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE || width * height > IMAGE_MAX_PIXELS) {
    throw new ValidationError('image_pixels', `The image is ${width}×${height} pixels; the limit is ${IMAGE_MAX_SIDE} pixels a side and ${IMAGE_MAX_PIXELS / 1_000_000} megapixels.`, field)
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  return { type, width, height, size: bytes.byteLength, sha256, name: `${sha256}.${type}` }
}
