import { Hono } from 'hono';
import type { AppEnv } from '../http/types.ts';

/** /templates: message templates (permission templates.manage). */
export const templatesRoutes = new Hono<AppEnv>();
