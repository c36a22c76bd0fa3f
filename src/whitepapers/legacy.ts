// Versions published before meta.json existed: their metadata is rebuilt from the pointer (when the
// version is current) or from the object's own headers, which only publish's checked bytes carry.
import type { Clock } from '../clock.ts'
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { isNotFound } from '../storage/errors.ts'
import type { VersionMeta, WhitepaperPointer } from './model.ts'
import { defaultTitle } from './version-meta.ts'

/** The real file name from a stored Content-Disposition (RFC 6266). */
export function filenameFromDisposition (value: string | undefined): string | undefined {
  if (!value) return undefined
  const star = /filename\*=UTF-8''([^;]+)/i.exec(value)
  if (star?.[1]) {
    try { return decodeURIComponent(star[1]) } catch {}
  }
  return /filename="([^"]*)"/i.exec(value)?.[1]
}

export interface LegacyOptions {
  s3: S3Client
  bucket: string
  now: Clock
}

/**
 * The metadata of a version without meta.json whose PDF is `pdfKey` (listed with `listedSize`);
 * null when its bytes were never verified.
 */
export async function legacyMeta (options: LegacyOptions, slug: string, version: string, pdfKey: string, listedSize: number | undefined, pointer: WhitepaperPointer | null): Promise<VersionMeta | null> {
  if (pointer?.version === version) {
    const { activatedAt, ...fields } = pointer
    return { ...fields, createdAt: activatedAt, source: 'legacy' }
  }
  // Only publish (which checks the bytes) set x-amz-meta-sha256; a browser upload never verified did not.
  const head = await options.s3.send(new HeadObjectCommand({ Bucket: options.bucket, Key: pdfKey })).catch(err => {
    if (isNotFound(err)) return null
    throw err
  })
  const sha256 = head?.Metadata?.sha256
  if (!head || !sha256) return null
  const filename = filenameFromDisposition(head.ContentDisposition) ?? pdfKey.split('/').pop() ?? 'whitepaper.pdf'
  return {
    slug,
    version,
    key: pdfKey,
    filename,
    title: pointer?.title ?? defaultTitle(filename),
    description: pointer?.description ?? '',
    size: head.ContentLength ?? listedSize ?? 0,
    sha256,
    createdAt: (head.LastModified ?? new Date(options.now())).toISOString(),
    source: 'legacy',
    ...(head.ETag ? { etag: head.ETag } : {})
  }
}
