/**
 * Every SMTP outcome, classified as Postal does: sent, a temporary failure to retry later (with the
 * server's "try again in N s" honoured), a permanent failure, an authentication failure (the account is
 * paused, its messages wait), or uncertain (the connection dropped after the whole message was written:
 * the server may have accepted it, so a human decides instead of risking a duplicate).
 */
import type { RejectedRecipient, SendFailure, SendReport } from './transport.ts';

export type Outcome =
  | { kind: 'sent'; response: string; code: number | null; rejected: RejectedRecipient[] }
  | { kind: 'deferred'; response: string; code: number | null; retryAfterMs: number | null }
  | { kind: 'failed'; response: string; code: number | null; rejected: RejectedRecipient[] }
  | { kind: 'uncertain'; response: string; code: number | null }
  | { kind: 'auth'; response: string; code: number | null };

/** Codes after which an address is put on the suppression list (the mailbox does not exist). */
const SUPPRESS_CODES = new Set([550, 551, 553]);

export function shouldSuppress(r: RejectedRecipient): boolean {
  return r.code != null && SUPPRESS_CODES.has(r.code);
}

const CERTIFICATE_ERROR = /self[- ]signed certificate|certificate has expired|unable to (get|verify)[^\n]*certificate|certificate is not yet valid|Hostname\/IP does not match certificate|ERR_TLS_CERT/i;

const codeOf = (response: string): number | null => {
  const m = /^([245]\d\d)[ -]/.exec(response);
  return m ? Number(m[1]) : null;
};

/** The server accepted the message (perhaps not for every recipient). */
export function classifyReport(report: SendReport): Outcome {
  return { kind: 'sent', response: report.response, code: codeOf(report.response), rejected: report.rejected };
}

/** "try again in 30 seconds", "retry after 5 min", "in 120s": the wait the server asks for, in ms. */
export function retryAfterMs(text: string): number | null {
  const m = /(?:try|retry)[^0-9]{0,20}?(?:in|after)\s*(\d{1,6})\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)\b/i.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  const ms = unit.startsWith('h') ? n * 3_600_000 : unit.startsWith('m') ? n * 60_000 : n * 1000;
  return Math.min(ms, 24 * 3_600_000);
}

export function classifyFailure(f: SendFailure): Outcome {
  const code = f.responseCode ?? null;
  const response = f.response ?? f.message;
  if (f.code === 'EAUTH' || code === 535 || code === 534 || code === 530) return { kind: 'auth', response, code };
  if (code != null && code >= 500) return { kind: 'failed', response, code, rejected: f.rejected };
  if (code != null && code >= 400) return { kind: 'deferred', response, code, retryAfterMs: retryAfterMs(response) };
  if (f.code === 'EENVELOPE') return { kind: 'failed', response, code, rejected: f.rejected };
  // A certificate that does not verify will not verify on the next try either: like a wrong password, the
  // account needs an admin (fix the server name, or allow the certificate), so it is paused, not retried.
  if (CERTIFICATE_ERROR.test(f.message)) return { kind: 'auth', response, code };
  // No SMTP reply at all: a network error or a timeout. Before the last byte was written the server
  // cannot have accepted the message; after it, it may have.
  if (f.afterData) return { kind: 'uncertain', response, code };
  return { kind: 'deferred', response, code, retryAfterMs: null };
}

/**
 * The wait before the next try after `attempt` temporary failures: 1, 2, 4 … minutes up to 2 hours,
 * ±20 % jitter so many deferred messages do not return at once; never shorter than the server asked.
 */
export function backoffMs(attempt: number, serverAsked: number | null, random = Math.random): number {
  const base = Math.min(60_000 * 2 ** Math.max(0, attempt - 1), 2 * 3_600_000);
  const jittered = base * (0.8 + 0.4 * random());
  return Math.round(Math.max(jittered, serverAsked ?? 0));
}
