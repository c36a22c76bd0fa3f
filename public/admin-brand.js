// leadlink admin: uploads a brand image (logo, cover) from the brand forms straight to S3 through a
// presigned POST, has the server check its bytes, and puts the checked image's name into the form; the
// form's own Save button then stores it. Served as a file (CSP script-src 'self'); without it the text
// fields of the form still work.
'use strict'

;(() => {
  for (const input of document.querySelectorAll('input[type=file][data-image-upload]')) {
    const form = input.form
    const target = document.getElementById(input.dataset.imageUpload)
    const status = document.getElementById(input.dataset.status)
    const alt = document.getElementById(input.dataset.alt)
    const csrf = form?.dataset.csrf
    if (!form || !target || !status || !csrf) continue

    // From public/admin.js, which the layout loads before this script.
    const say = (message, isError) => window.leadlinkAdmin.say(status, message, isError)
    const api = (url, body) => window.leadlinkAdmin.api(url, body, csrf)

    async function postToS3 (ticket, file) {
      const data = new FormData()
      for (const name of Object.keys(ticket.fields)) {
        // The policy allows any image/*; the bytes are what the server checks.
        data.append(name, name === 'Content-Type' && /^image\//.test(file.type) ? file.type : ticket.fields[name])
      }
      // S3 ignores every field after the file: it must come last.
      data.append('file', file)
      const res = await fetch(ticket.url, { method: 'POST', body: data }).catch(() => {
        throw new Error('The upload failed: the bucket could not be reached (check its CORS settings).')
      })
      if (!res.ok) throw new Error('The bucket refused the upload (' + res.status + ').')
    }

    input.addEventListener('change', async () => {
      const file = input.files?.[0]
      if (!file) return
      const buttons = form.querySelectorAll('button[type=submit]')
      for (const b of buttons) b.disabled = true
      form.setAttribute('aria-busy', 'true')
      try {
        say('Uploading ' + file.name + '…')
        const ticket = await api('/admin/brand/images', { size: file.size })
        await postToS3(ticket, file)
        say('Checking the image…')
        const image = await api(ticket.verifyUrl, {})
        target.value = image.name
        if (alt) {
          alt.required = true
          if (!alt.value) alt.focus()
        }
        say('Checked: ' + image.type.toUpperCase() + ', ' + image.width + '×' + image.height + ' pixels. Give it alt text and save the form to use it.')
      } catch (err) {
        input.value = ''
        say(err.message, true)
      } finally {
        for (const b of buttons) b.disabled = false
        form.removeAttribute('aria-busy')
      }
    })
  }
})()
