import { Hono } from 'hono';
import type { AppEnv } from '../http/types.ts';

export const activitiesRoutes = new Hono<AppEnv>();
