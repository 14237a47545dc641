import { Hono } from 'hono';
import type { AppEnv } from '../http/types.ts';

/** /attachments: uploads for the composer and the template editor (their own size limit). */
export const attachmentsRoutes = new Hono<AppEnv>();
