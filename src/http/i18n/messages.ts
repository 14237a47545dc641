/** Messages strings. `en` must hold the same keys as `cs` (checked by the type and by i18n.test.ts). */
export const cs = {
} as const;

export const en: Record<keyof typeof cs, string> = {
};
