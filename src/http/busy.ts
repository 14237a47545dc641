/**
 * Web requests first. The sender runs in the web server's process (DESIGN.md rule 5) and shares its event
 * loop; while a page is being served, background work that can wait a moment (building the next message
 * to send) waits until the page is done, at most a few milliseconds, so a draining queue does not make
 * pages slow. Counted per process by a middleware (`countRequests`).
 */
import type { MiddlewareHandler } from 'hono';

let active = 0;
let waiting: (() => void)[] = [];

/** Counts a request as being served until its handler has returned (or thrown). */
export function countRequests(): MiddlewareHandler {
  return async (_c, next) => {
    active++;
    try {
      await next();
    } finally {
      active--;
      if (!active && waiting.length) {
        const wake = waiting;
        waiting = [];
        for (const w of wake) w();
      }
    }
  };
}

/** Resolves when no request is being served, or after `maxMs` at the latest (background work never starves). */
export function requestsDone(maxMs: number): Promise<void> {
  if (!active) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      waiting = waiting.filter((w) => w !== done);
      resolve();
    }, maxMs);
    waiting.push(done);
  });
}
