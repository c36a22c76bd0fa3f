// leadlink admin: what every admin page's script shares (the layout loads this one on each page), and
// the whitepaper upload: a PDF from the browser straight to S3 through a presigned POST, with a progress
// bar, then checked by the server. No inline script: served as a file so the admin pages run under a
// CSP with script-src 'self'.
'use strict'

// For the scripts a page adds after this one (public/admin-brand.js): the layout puts this file first, in
// <head>, and deferred scripts run in document order.
window.leadlinkAdmin = {
  /** POSTs `body` as JSON with the session's CSRF token; resolves to the JSON answer, rejects with its message. */
  async api (url, body, csrf) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
      credentials: 'same-origin'
    })
    const data = await res.json().catch(() => ({}))
    if (!res.ok) throw new Error(data.message || ('The server answered ' + res.status + '.'))
    return data
  },

  /** Shows `message` in the `status` element, in the field-error style when it is an error. */
  say (status, message, isError) {
    status.textContent = message
    status.className = isError ? 'field-error' : ''
  }
}

;(() => {
  const form = document.getElementById('upload-form')
  if (!form) return
  const fileInput = form.querySelector('input[type=file]')
  const button = document.getElementById('upload-button')
  const progress = document.getElementById('upload-progress')
  const status = document.getElementById('upload-status')
  const slug = form.dataset.slug
  const csrf = form.dataset.csrf
  const maxBytes = Number(form.dataset.maxBytes)

  const say = (message, isError) => window.leadlinkAdmin.say(status, message, isError)
  const api = (url, body) => window.leadlinkAdmin.api(url, body, csrf)

  function formatBytes (n) {
    if (n < 1024) return n + ' bytes'
    if (n < 1024 * 1024) return Math.round(n / 1024) + ' KB'
    return (n / 1024 / 1024).toFixed(1) + ' MB'
  }

  // XMLHttpRequest rather than fetch: only it reports upload progress.
  function postToS3 (ticket, file) {
    return new Promise((resolve, reject) => {
      const data = new FormData()
      for (const name of Object.keys(ticket.fields)) data.append(name, ticket.fields[name])
      // S3 ignores every field after the file: it must come last.
      data.append('file', file)
      const xhr = new XMLHttpRequest()
      xhr.open('POST', ticket.url)
      xhr.upload.addEventListener('progress', (event) => {
        if (!event.lengthComputable) return
        const percent = Math.floor(event.loaded / event.total * 100)
        progress.value = percent
        progress.textContent = percent + '%'
        say('Uploading… ' + percent + '% (' + formatBytes(event.loaded) + ' of ' + formatBytes(event.total) + ')')
      })
      xhr.addEventListener('load', () => {
        if (xhr.status >= 200 && xhr.status < 300) return resolve()
        const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText || '')
        reject(new Error('The bucket refused the upload (' + xhr.status + (code ? ' ' + code[1] : '') + ').'))
      })
      xhr.addEventListener('error', () => { reject(new Error('The upload failed: the bucket could not be reached (check its CORS settings).')) })
      xhr.addEventListener('abort', () => { reject(new Error('The upload was cancelled.')) })
      xhr.send(data)
    })
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const file = fileInput.files?.[0]
    if (!file) return say('Choose a PDF file first.', true)
    if (file.size > maxBytes) return say('That file is ' + formatBytes(file.size) + '; the limit is ' + formatBytes(maxBytes) + '.', true)
    const title = document.getElementById('title').value
    const description = document.getElementById('description').value
    button.disabled = true
    progress.hidden = false
    progress.value = 0
    form.setAttribute('aria-busy', 'true')
    try {
      say('Preparing the upload…')
      const ticket = await api('/admin/w/' + slug + '/uploads', { filename: file.name, size: file.size, title: title, description: description })
      await postToS3(ticket, file)
      progress.value = 100
      say('Checking the file…')
      // The ticket's name: the one the server cleaned (always .pdf) and the download will keep.
      const version = await api(ticket.verifyUrl, { filename: ticket.filename, title: title, description: description })
      say('Uploaded and checked: version ' + version.version + '. Activate it below.')
      window.location.assign('/admin/w/' + slug + '?uploaded=' + encodeURIComponent(version.version))
    } catch (err) {
      say(err.message, true)
      progress.hidden = true
      button.disabled = false
    } finally {
      form.removeAttribute('aria-busy')
    }
  })
})()
