/** The public unsubscribe page of marketing mail. `en` must hold the same keys as `cs`. */
export const cs = {
  'unsub.title': 'Odhlášení z obchodních sdělení',
  'unsub.question': 'Přejete si, abychom na adresu {email} už neposílali obchodní sdělení (nabídky, pozvánky, novinky)?',
  'unsub.submit': 'Ano, odhlásit',
  'unsub.hint': 'Zprávy k vašim objednávkám a smlouvám budete dostávat dál.',
  'unsub.done': 'Hotovo: na adresu {email} už obchodní sdělení posílat nebudeme.',
  'unsub.done_more': 'Zprávy, které na vás v tuto chvíli čekaly k odeslání, jsme zrušili. Zprávy k objednávkám a smlouvám budete dostávat dál.',
  'unsub.already': 'Adresa {email} je již odhlášena; obchodní sdělení na ni neposíláme.',
  'unsub.invalid': 'Tento odkaz pro odhlášení neplatí (je neúplný nebo pozměněný). Zkopírujte prosím celý odkaz z e-mailu, nebo odpovězte na e-mail a odhlásíme vás ručně.',
  'action.client.unsubscribed': 'Odhlášení z obchodních sdělení',
};

export const en: typeof cs = {
  'unsub.title': 'Unsubscribe from marketing mail',
  'unsub.question': 'Do you want us to stop sending marketing mail (offers, invitations, news) to {email}?',
  'unsub.submit': 'Yes, unsubscribe',
  'unsub.hint': 'You will still receive mail about your orders and contracts.',
  'unsub.done': 'Done: we will send no more marketing mail to {email}.',
  'unsub.done_more': 'Messages that were waiting to be sent to you have been cancelled. Mail about your orders and contracts will still reach you.',
  'unsub.already': '{email} is already unsubscribed; we send it no marketing mail.',
  'unsub.invalid': 'This unsubscribe link is not valid (it is incomplete or altered). Please copy the whole link from the e-mail, or reply to the e-mail and we will unsubscribe you by hand.',
  'action.client.unsubscribed': 'Unsubscribed from marketing mail',
};
