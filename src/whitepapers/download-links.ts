// Download links: presigned S3 GET URLs that make S3 answer with an attachment under the real name.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { attachmentDisposition } from './content-disposition.ts'
import type { WhitepaperPointer } from './catalog.ts'

export interface MintedLink {
  url: string
  expiresAt: Date
}

export interface DownloadLinkOptions {
  s3: S3Client
  bucket: string
  /**
   * A link minted for one recipient is handed to the next ones for this long (its expiry drifts by
   * at most this much). Signing per email is wasted CPU: the URL carries nothing personal.
   */
  reuseMs?: number
  now?: () => number
}

export type DownloadLinks = ReturnType<typeof createDownloadLinks>

export function createDownloadLinks (options: DownloadLinkOptions) {
  const { s3, bucket } = options
  const reuseMs = options.reuseMs ?? 60_000
  const now = options.now ?? Date.now
  const cache = new Map<string, { link: MintedLink, mintedAt: number }>()

  async function sign (pointer: WhitepaperPointer, ttlSeconds: number, now: number): Promise<MintedLink> {
    // X-Amz-Date has one-second resolution: the link dies exactly ttl seconds after that second.
    const at = Math.floor(now / 1000) * 1000
    const command = new GetObjectCommand({
      Bucket: bucket,
      Key: pointer.key,
      ResponseContentDisposition: attachmentDisposition(pointer.filename),
      ResponseContentType: 'application/pdf'
    })
    const url = await getSignedUrl(s3, command, { expiresIn: ttlSeconds, signingDate: new Date(at) })
    return { url, expiresAt: new Date(at + ttlSeconds * 1000) }
  }

  return {
    /** A presigned GET for the pointer's version, valid for `ttlSeconds` (at most 604800). */
    async mint (pointer: WhitepaperPointer, ttlSeconds: number): Promise<MintedLink> {
      const cacheKey = `${pointer.key}\n${ttlSeconds}`
      const at = now()
      const hit = cache.get(cacheKey)
      // Reuse only while the drift is a small part of the lifetime.
      const window = Math.min(reuseMs, ttlSeconds * 1000 / 20)
      if (hit && at - hit.mintedAt < window) return hit.link
      const link = await sign(pointer, ttlSeconds, at)
      if (cache.size > 1000) cache.clear()
      cache.set(cacheKey, { link, mintedAt: at })
      return link
    }
  }
}
