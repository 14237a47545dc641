/** Domain errors, thrown by services and mapped to pages in one place (`app.onError`). */
export class NotFoundError extends Error {
  constructor(what = 'not found') {
    super(what);
  }
}

/** A rule of the domain refused the change; `messageKey` is the i18n key shown to the user. */
export class RuleError extends Error {
  constructor(
    readonly messageKey: string,
    readonly params: Record<string, string | number> = {},
  ) {
    super(messageKey);
  }
}

/** A rule refused one field of a form: the form shows the message next to `field`. */
export class FieldRuleError extends RuleError {
  constructor(
    readonly field: string,
    messageKey: string,
  ) {
    super(messageKey);
  }
}
