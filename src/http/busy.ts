/**
 * Web requests first. The sender runs in the web server's process (DESIGN.md rule 5) and shares its event
 * loop; while a page is being served, background work that can wait a moment (claiming and building the
 * next message, the next slice of SMTP data) waits until the page is done, at most a few milliseconds
 * each time, so a draining queue does not make pages slow. And at most half of each second in all: under
 * a steady stream of requests the sender still gets on at no less than about half its speed.
 * Requests are counted per process by a middleware (`countRequests`), which also marks what they do
 * (`inWebRequest`): the embedded database serves their queries before the sender's.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MiddlewareHandler } from 'hono';

/** Set while a request's handler runs: what it does on the way (its database queries) is for a page. */
const webRequest = new AsyncLocalStorage<true>();

/** True when called (directly or through awaits) from a request being served by this process. */
export const inWebRequest = (): boolean => webRequest.getStore() === true;

/** Longest one piece of background work waits for the pages being served (each time it asks). */
export const WEB_FIRST_MAX_WAIT_MS = 25;

/** Background work is held back for at most this share of each window. */
const WINDOW_MS = 1000;
const MAX_HELD_SHARE = 0.5;

export class WebFirst {
  #active = 0;
  #waiting: (() => void)[] = [];
  /** Wall time background work was held back in the current window, and since when it is held now. */
  #windowStart = -Infinity;
  #heldMs = 0;
  #heldSince: number | null = null;

  /** Counts a request as being served until its handler has returned (or thrown). */
  middleware(): MiddlewareHandler {
    return async (_c, next) => {
      this.#active++;
      try {
        await webRequest.run(true, next);
      } finally {
        this.#active--;
        if (!this.#active) for (const wake of [...this.#waiting]) wake();
      }
    };
  }

  /**
   * Resolves when no request is being served, or after `maxMs` at the latest — at once when background
   * work was already held back for half of the current second.
   */
  requestsDone(maxMs = WEB_FIRST_MAX_WAIT_MS): Promise<void> {
    if (!this.#active) return Promise.resolve();
    const now = performance.now();
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#windowStart = now;
      this.#heldMs = 0;
      if (this.#heldSince !== null) this.#heldSince = now;
    }
    if (this.#heldMs + (this.#heldSince === null ? 0 : now - this.#heldSince) >= WINDOW_MS * MAX_HELD_SHARE) return Promise.resolve();
    this.#heldSince ??= now;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiting = this.#waiting.filter((w) => w !== done);
        if (!this.#waiting.length && this.#heldSince !== null) {
          this.#heldMs += performance.now() - this.#heldSince;
          this.#heldSince = null;
        }
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      this.#waiting.push(done);
    });
  }
}

/** The process's requests, counted by the app's first middleware and respected by the sender. */
const shared = new WebFirst();
export const countRequests = (): MiddlewareHandler => shared.middleware();
export const requestsDone = (maxMs = WEB_FIRST_MAX_WAIT_MS): Promise<void> => shared.requestsDone(maxMs);
