/** Sending strings (accounts, queue, outbox, test mailbox). `en` must hold the same keys as `cs`. */
export const cs = {
  'sending.v.not_draft': 'Odeslat lze jen koncept (nebo zprávu předanou do poštovního programu).',
  'sending.v.no_recipient': 'Zpráva nemá žádného příjemce.',
  'sending.v.unknown_account': 'Zvolený odesílací účet neexistuje.',
  'sending.v.not_after_before_send': '„Neodesílat po“ musí být později než čas odeslání.',

  'object.smtp_account': 'odesílací účet',
  'action.message.queue': 'Zařazení k odeslání',
  'action.message.sent': 'Odesláno',
  'action.message.deferred': 'Odeslání odloženo',
  'action.message.failed': 'Odeslání selhalo',
  'action.message.uncertain': 'Nejisté doručení',
  'action.message.held': 'Zpráva čeká (účet pozastaven)',
  'action.message.send_now': 'Odeslat hned',
  'action.message.reschedule': 'Změna času odeslání',
  'action.message.cancel': 'Zrušení odeslání',
  'action.message.retry': 'Nový pokus o odeslání',
  'action.message.resend': 'Opětovné odeslání',
  'action.message.mark_sent': 'Označeno jako odeslané',
  'action.account.paused': 'Účet pozastaven',
} as const;

export const en: Record<keyof typeof cs, string> = {
  'sending.v.not_draft': 'Only a draft (or a message handed to the mail program) can be sent.',
  'sending.v.no_recipient': 'The message has no recipient.',
  'sending.v.unknown_account': 'The chosen sending account does not exist.',
  'sending.v.not_after_before_send': '"Do not send after" must be later than the send time.',

  'object.smtp_account': 'sending account',
  'action.message.queue': 'Queued for sending',
  'action.message.sent': 'Sent',
  'action.message.deferred': 'Sending deferred',
  'action.message.failed': 'Sending failed',
  'action.message.uncertain': 'Delivery uncertain',
  'action.message.held': 'Message waits (account paused)',
  'action.message.send_now': 'Send now',
  'action.message.reschedule': 'Send time changed',
  'action.message.cancel': 'Sending cancelled',
  'action.message.retry': 'Sending retried',
  'action.message.resend': 'Sent again',
  'action.message.mark_sent': 'Marked as sent',
  'action.account.paused': 'Account paused',
};
