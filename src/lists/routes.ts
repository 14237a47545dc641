import { Hono } from 'hono';
import type { AppEnv } from '../http/types.ts';

export const listsRoutes = new Hono<AppEnv>();
