// Moved to src/delivery/confirmation-email.ts: this re-export goes once src/admin imports from there.
export { createConfirmationEmail, formatBytes, type ConfirmationEmail, type RenderedEmail } from '../delivery/confirmation-email.ts'
