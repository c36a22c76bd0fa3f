// Brand image uploads, like the PDF's (src/whitepapers/uploads.ts): a presigned POST lets the admin page
// send the file straight to a staging key under uploads/brand/; the server then reads it, checks the
// bytes (images.ts) and writes exactly those bytes under brand/images/<sha256>.<ext>, never overwritten.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
import { randomBytes } from 'node:crypto'
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { systemClock, type Clock } from '../clock.ts'
import { NotFoundError, ValidationError } from '../errors.ts'
import { isConditionFailed, isNotFound } from '../storage/errors.ts'
import { UPLOAD_POST_TTL_SECONDS, type Presign } from '../whitepapers/uploads.ts'
import { checkImage, type CheckedImage, IMAGE_MAX_BYTES } from './images.ts'
import { IMAGE_TYPES, IMAGE_UPLOADS_PREFIX, imageKey } from './model.ts'

export const UPLOAD_ID_PATTERN = '^[0-9a-f]{32}$'
const UPLOAD_ID_RE = new RegExp(UPLOAD_ID_PATTERN)

export interface ImageTicket {
  id: string
  key: string
  url: string
  fields: Record<string, string>
  expiresAt: string
  maxBytes: number
}

export interface ImageUploadOptions {
  s3: S3Client
  bucket: string
  now?: Clock
  presign?: Presign
}

function stagingKey (id: string): string {
  return `${IMAGE_UPLOADS_PREFIX}${id}/upload`
}

export type ImageUploads = ReturnType<typeof createImageUploads>

export function createImageUploads (options: ImageUploadOptions) {
  const { s3, bucket } = options
  const clock = options.now ?? systemClock
  // The SDK's own S3Client type may come from a nested copy of the package: same shape, other identity.
  const presign = options.presign ?? (createPresignedPost as unknown as Presign)

  return {
    maxBytes: IMAGE_MAX_BYTES,

    /** A presigned POST for one new staging key: an image/* of at most IMAGE_MAX_BYTES, for 10 minutes. */
    async start (input: { size: number }): Promise<ImageTicket> {
      if (input.size > IMAGE_MAX_BYTES) {
        throw new ValidationError('image_too_large', `The image is ${input.size} bytes; the limit is ${IMAGE_MAX_BYTES} bytes (2 MB).`, 'file')
      }
      const id = randomBytes(16).toString('hex')
      const key = stagingKey(id)
      const post = await presign(s3, {
        Bucket: bucket,
        Key: key,
        // The declared type proves nothing (the bytes are checked); it only keeps other files out early.
        Conditions: [['content-length-range', 1, IMAGE_MAX_BYTES], ['starts-with', '$Content-Type', 'image/']],
        Fields: { 'Content-Type': 'image/png' },
        Expires: UPLOAD_POST_TTL_SECONDS
      })
      return { id, key, url: post.url, fields: post.fields, expiresAt: new Date(clock() + UPLOAD_POST_TTL_SECONDS * 1000).toISOString(), maxBytes: IMAGE_MAX_BYTES }
    },

    /** Reads the staging object (at most the limit), checks it and stores exactly those bytes by their hash. */
    async verify (id: string): Promise<CheckedImage> {
      if (!UPLOAD_ID_RE.test(id)) throw new ValidationError('upload_invalid', 'That upload id is not one this page gave out.', 'id')
      const key = stagingKey(id)
      // Range: a file grown past the limit after the POST is still read no further than limit + 1 bytes.
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${IMAGE_MAX_BYTES}` })).catch(err => {
        if (isNotFound(err)) throw new NotFoundError('upload_not_found', 'The upload did not reach the bucket. Try uploading again.')
        throw err
      })
      const bytes = await (res.Body as { transformToByteArray: () => Promise<Uint8Array> }).transformToByteArray()
      let checked: CheckedImage
      try {
        checked = checkImage(bytes)
      } finally {
        // Checked bytes are copied below; unchecked ones are of no use to anyone.
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined)
      }
      await s3.send(new PutObjectCommand({
        Bucket: bucket,
        Key: imageKey(checked.name),
        Body: bytes,
        ContentType: IMAGE_TYPES[checked.type],
        CacheControl: 'public, max-age=31536000, immutable',
        // Named by its hash: an object already there holds these very bytes.
        IfNoneMatch: '*',
        Metadata: { width: String(checked.width), height: String(checked.height), sha256: checked.sha256 }
      })).catch(err => {
        if (!isConditionFailed(err)) throw err
      })
      return checked
    }
  }
}
