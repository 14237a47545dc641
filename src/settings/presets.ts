/**
 * SMTP presets: what to fill in for the providers our users have. Choosing one fills host, port,
 * security and limits, and shows its hint; every value stays editable. Limits are the providers'
 * published ones where they publish them, and cautious guesses (said so in the hint) where they do not.
 */
import type { Security } from '../sender/transport.ts';

export const PRESET_KEYS = ['seznam', 'gmail', 'microsoft365', 'volny', 'custom'] as const;
export type PresetKey = (typeof PRESET_KEYS)[number];

export interface SmtpPreset {
  key: PresetKey;
  /** i18n key of the name shown in the select. */
  labelKey: string;
  /** i18n key of the short hint shown under the select (app passwords, SMTP AUTH …). */
  hintKey: string;
  host: string;
  port: number;
  security: Security;
  perMinute: number | null;
  perHour: number | null;
  perDay: number | null;
  maxRecipients: number;
}

export const PRESETS: readonly SmtpPreset[] = [
  {
    key: 'seznam',
    labelKey: 'settings.preset.seznam',
    hintKey: 'settings.preset.seznam.hint',
    host: 'smtp.seznam.cz',
    port: 465,
    security: 'tls',
    perMinute: 10,
    perHour: 100,
    perDay: 500,
    maxRecipients: 50,
  },
  {
    key: 'gmail',
    labelKey: 'settings.preset.gmail',
    hintKey: 'settings.preset.gmail.hint',
    host: 'smtp.gmail.com',
    port: 587,
    security: 'starttls',
    perMinute: 20,
    perHour: null,
    perDay: 500,
    maxRecipients: 100,
  },
  {
    key: 'microsoft365',
    labelKey: 'settings.preset.microsoft365',
    hintKey: 'settings.preset.microsoft365.hint',
    host: 'smtp.office365.com',
    port: 587,
    security: 'starttls',
    perMinute: 30,
    perHour: null,
    perDay: 10_000,
    maxRecipients: 500,
  },
  {
    key: 'volny',
    labelKey: 'settings.preset.volny',
    hintKey: 'settings.preset.volny.hint',
    host: 'smtp.volny.cz',
    port: 465,
    security: 'tls',
    perMinute: 10,
    perHour: 100,
    perDay: 500,
    maxRecipients: 50,
  },
  {
    key: 'custom',
    labelKey: 'settings.preset.custom',
    hintKey: 'settings.preset.custom.hint',
    host: '',
    port: 587,
    security: 'starttls',
    perMinute: null,
    perHour: null,
    perDay: null,
    maxRecipients: 50,
  },
];

/** The preset named `key`, or undefined for anything that is not one. */
export function presetByKey(key: string | undefined | null): SmtpPreset | undefined {
  return PRESETS.find((p) => p.key === key);
}

/** The preset whose host an account uses (for the edit form's select), or `custom`. */
export function presetForHost(host: string): PresetKey {
  const h = host.trim().toLowerCase();
  return PRESETS.find((p) => p.host && p.host === h)?.key ?? 'custom';
}
