// The bytes of a whitepaper: the `%PDF-` sniff, and their size and sha256 taken from memory or from a
// file (read once to hash, streamed again to upload: memory stays flat for large files).
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { MIN_PDF_BYTES } from './model.ts'

/** The bytes of a PDF, held in memory or streamed from a file. */
export interface PdfSource {
  size: number
  sha256: string
  /** the first bytes (at least 5 when the file has them), for the `%PDF-` check */
  head: Uint8Array
  /** the bytes, or a new stream of them */
  body: () => Uint8Array | Readable
}

export function isPdfHead (head: Uint8Array): boolean {
  return head.byteLength >= MIN_PDF_BYTES && Buffer.from(head.subarray(0, MIN_PDF_BYTES)).toString('latin1') === '%PDF-'
}

export function pdfFromBytes (bytes: Uint8Array): PdfSource {
  return {
    size: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    head: bytes.subarray(0, MIN_PDF_BYTES),
    body: () => bytes
  }
}

/** A file's head, size and sha256 (a file that is not a PDF is not read further: publish refuses it). */
export async function pdfFromFile (path: string, size: number): Promise<PdfSource> {
  const handle = await open(path, 'r')
  const head = Buffer.alloc(MIN_PDF_BYTES)
  try {
    await handle.read(head, 0, MIN_PDF_BYTES, 0)
  } finally {
    await handle.close()
  }
  const hash = createHash('sha256')
  if (isPdfHead(head)) {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  }
  return { size, sha256: hash.digest('hex'), head, body: () => createReadStream(path) }
}
