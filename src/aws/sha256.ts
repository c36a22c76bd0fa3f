// SHA-256 and HMAC-SHA256 for the SDK's SigV4 signer (the clients' documented `sha256` option), the
// SDK's own node:crypto class with one difference: a binary HMAC key is turned into a KeyObject once.
// Node 24 takes ~10 µs to prepare a Buffer key on every createHmac against ~1.5 µs for a KeyObject,
// and each request is signed with the day's derived signing key, the same Uint8Array every time
// (the SDK caches it). String keys (the secret access key) are already fast and are passed as they are.
import { createHash, createHmac, createSecretKey, type Hash, type Hmac, type KeyObject } from 'node:crypto'
import type { Checksum, SourceData } from '@aws-sdk/types'

const keyObjects = new WeakMap<object, KeyObject>()

function toBuffer (data: SourceData): Buffer {
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return Buffer.from(data as ArrayBuffer)
}

function keyOf (secret: SourceData): string | KeyObject {
  if (typeof secret === 'string') return secret
  let key = keyObjects.get(secret)
  if (!key) {
    key = createSecretKey(toBuffer(secret))
    keyObjects.set(secret, key)
  }
  return key
}

export class Sha256 implements Checksum {
  readonly digestLength = 32
  private readonly key: string | KeyObject | undefined
  private hash: Hash | Hmac
  private finished = false

  constructor (secret?: SourceData) {
    this.key = secret === undefined ? undefined : keyOf(secret)
    this.hash = this.start()
  }

  update (data: SourceData): void {
    if (this.finished) throw new Error('Attempted to update an already finished hash.')
    // Strings (as UTF-8) and typed arrays go in as they are, as in the SDK's own class.
    this.hash.update(typeof data === 'string' ? data : ArrayBuffer.isView(data) ? data as NodeJS.ArrayBufferView : new Uint8Array(data))
  }

  async digest (): Promise<Uint8Array> {
    let out: Buffer
    if (this.key === undefined) {
      // A plain hash may be digested again after more updates (as the SDK's own class allows).
      out = (this.hash as Hash).copy().digest()
    } else {
      this.finished = true
      out = this.hash.digest()
    }
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  }

  reset (): void {
    this.hash = this.start()
    this.finished = false
  }

  private start (): Hash | Hmac {
    return this.key === undefined ? createHash('sha256') : createHmac('sha256', this.key)
  }
}
