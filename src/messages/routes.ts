import { Hono } from 'hono';
import type { AppEnv } from '../http/types.ts';

/** /messages: the composer, drafts, the detail page and its exports. */
export const messagesRoutes = new Hono<AppEnv>();
