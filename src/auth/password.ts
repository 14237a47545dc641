import { hash, verify } from '@node-rs/argon2';

/** Passwords longer than this are refused outright: hashing megabytes is a denial-of-service vector. */
export const PASSWORD_MAX = 1000;
export const PASSWORD_MIN = 10;

// argon2id with the OWASP minimum (19 MiB, 2 passes, 1 lane) — the library's defaults, stated here.
const OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;
/** Verifies against a throw-away hash, so an unknown e-mail costs the same time as a known one. */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('posel-dummy-password-for-timing');
  await verifyPassword(await dummyHash, password);
}

const COMMON = new Set([
  'password', 'password1', 'password123', 'heslo', 'heslo123', 'heslo1234', 'qwertyuiop', 'qwertzuiop',
  '1234567890', '0123456789', '12345678910', 'abcdefghij', 'administrator', 'posel12345', 'iloveyou12',
]);

/**
 * Strength check for a new password; returns an i18n error key or null. Deliberately simple:
 * length first (NIST 800-63B), then refuse the obviously guessable.
 */
export function passwordProblem(password: string, context: { email?: string; name?: string }): string | null {
  if (password.length < PASSWORD_MIN) return `v.password_short?min=${PASSWORD_MIN}`;
  if (password.length > PASSWORD_MAX) return `v.too_long?max=${PASSWORD_MAX}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(password)) return 'v.control_chars';
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'v.password_weak';
  if (new Set(lower).size <= 2) return 'v.password_weak';
  const local = context.email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && lower.includes(local)) return 'v.password_weak';
  if (context.name && lower === context.name.toLowerCase().replace(/\s+/g, '')) return 'v.password_weak';
  return null;
}
