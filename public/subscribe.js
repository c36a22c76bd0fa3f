// Progressive enhancement of the signup form: it submits in place (fetch, Accept: application/json) and
// shows the result, or the message beside the field, without leaving the page. Without this file (or
// without JavaScript) the form posts as usual: 303 to the thank-you page, or 422 with the form re-rendered.
;(() => {
  'use strict'
  const form = document.querySelector('form[action="/subscribe"]')
  if (!form || !window.fetch || !window.FormData || !window.URLSearchParams) return
  const input = form.querySelector('input[name="email"]')
  const button = form.querySelector('button[type="submit"]')
  if (!input || !button) return

  const FALLBACK = 'Something went wrong on our side. Please try again in a minute.'
  const OFFLINE = 'We could not reach the server. Check your connection and try again.'

  function removeById (id) {
    const el = document.getElementById(id)
    if (el) el.remove()
  }

  function clearErrors () {
    removeById('email-error')
    removeById('form-error')
    // A server-rendered error for another field has no id: it sits right before the form.
    const previous = form.previousElementSibling
    if (previous?.matches('.field-error[role="alert"]')) previous.remove()
    input.removeAttribute('aria-invalid')
    input.removeAttribute('aria-describedby')
  }

  // The same markup the server renders after a 422, so styles and screen readers treat both alike.
  function errorParagraph (id, message) {
    const p = document.createElement('p')
    p.id = id
    p.className = 'field-error'
    p.setAttribute('role', 'alert')
    p.textContent = message
    return p
  }

  function showFieldError (message) {
    input.insertAdjacentElement('afterend', errorParagraph('email-error', message))
    input.setAttribute('aria-invalid', 'true')
    input.setAttribute('aria-describedby', 'email-error')
    input.focus()
  }

  function showFormError (message) {
    form.insertAdjacentElement('beforebegin', errorParagraph('form-error', message))
  }

  function showAccepted (message) {
    const notice = document.createElement('p')
    notice.id = 'subscribe-result'
    notice.className = 'notice'
    notice.setAttribute('role', 'status')
    notice.tabIndex = -1
    notice.textContent = message
    // The marketer's thank-you text (/admin/w/<slug>/page), as the thank-you page shows it: plain text.
    const thanks = form.dataset.thanks
    form.replaceWith(notice)
    if (thanks) {
      const box = document.createElement('div')
      box.className = 'thanks'
      for (const text of thanks.split(/\r?\n\s*\r?\n/)) {
        if (!text.trim()) continue
        const p = document.createElement('p')
        p.textContent = text.trim()
        box.append(p)
      }
      notice.insertAdjacentElement('afterend', box)
    }
    notice.focus()
  }

  form.addEventListener('submit', async event => {
    event.preventDefault()
    if (form.getAttribute('aria-busy') === 'true') return
    clearErrors()
    form.setAttribute('aria-busy', 'true')
    button.disabled = true
    try {
      const response = await fetch(form.action, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(new FormData(form)),
        credentials: 'same-origin'
      })
      const body = await response.json().catch(() => ({}))
      const message = typeof body.message === 'string' && body.message ? body.message : FALLBACK
      if (response.status === 202) showAccepted(message)
      else if (body.field === 'email') showFieldError(message)
      else showFormError(message)
    } catch {
      showFormError(OFFLINE)
    } finally {
      form.removeAttribute('aria-busy')
      button.disabled = false
    }
  })
})()
