// Writes a version's PDF once (If-None-Match: *): one PUT from memory, or a multipart upload
// (lib-storage) streamed from a file, with progress.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { attachmentDisposition } from './content-disposition.ts'
import type { PdfSource } from './pdf.ts'

// Multipart parts for large files: 8 MiB (S3's minimum is 5 MiB), four in flight.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
export const PART_SIZE = 8 * 1024 * 1024
const UPLOAD_QUEUE = 4

export type OnProgress = (loaded: number, total: number) => void

/** Uploads the bytes under `key` with the download's headers and their sha256; answers the ETag. */
export async function uploadBytes (s3: S3Client, bucket: string, key: string, source: PdfSource, filename: string, onProgress?: OnProgress): Promise<string | undefined> {
  const common = {
    Bucket: bucket,
    Key: key,
    ContentType: 'application/pdf',
    ContentDisposition: attachmentDisposition(filename),
    // Versions are immutable: never overwrite one.
    IfNoneMatch: '*',
    Metadata: { sha256: source.sha256 }
  }
  const body = source.body()
  if (body instanceof Uint8Array) {
    const res = await s3.send(new PutObjectCommand({ ...common, Body: body }))
    onProgress?.(source.size, source.size)
    return res.ETag
  }
  // Large files stream in parts (one PUT when they fit in one part); memory stays at a few parts.
  const { Upload } = await import('@aws-sdk/lib-storage')
  const upload = new Upload({
    client: s3,
    params: { ...common, Body: body, ContentLength: source.size },
    partSize: PART_SIZE,
    queueSize: UPLOAD_QUEUE,
    leavePartsOnError: false
  })
  if (onProgress) upload.on('httpUploadProgress', p => onProgress(p.loaded ?? 0, p.total ?? source.size))
  const res = await upload.done()
  return res.ETag
}
