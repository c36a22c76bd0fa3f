// Content-Disposition for downloads: an ASCII fallback plus the real name per RFC 6266 / RFC 5987.
// https://www.rfc-editor.org/rfc/rfc6266#section-4.3

/** Strips what must never reach a header or a key: control characters, path parts, quotes. */
export function cleanFilename (name: string): string {
  const base = name.split(/[\\/]/).pop() ?? ''
  return base.replace(/[\u0000-\u001f\u007f"]/g, '').trim()
}

function asciiFallback (name: string): string {
  return name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '_').replace(/[\\"%]/g, '_')
}

// RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else is percent-encoded.
function rfc5987 (value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

export function attachmentDisposition (filename: string): string {
  const clean = cleanFilename(filename) || 'download.pdf'
  const fallback = asciiFallback(clean)
  if (fallback === clean) return `attachment; filename="${clean}"`
  return `attachment; filename="${fallback}"; filename*=UTF-8''${rfc5987(clean)}`
}

/** A key-safe form of a file name: S3 keys accept anything, but people copy keys into shells. */
export function keySafeFilename (filename: string): string {
  const safe = asciiFallback(cleanFilename(filename)).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '')
  return /[A-Za-z0-9]/.test(safe.replace(/\.pdf$/i, '')) ? safe : 'whitepaper.pdf'
}
