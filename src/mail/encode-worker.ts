/**
 * A worker thread of the body encoder (`encoder.ts`): derives a body's plain text and encodes its text
 * and HTML parts (`encodeBody`), off the main thread that serves pages and talks SMTP, at a lower priority. Gets
 * `{ id, html }`, answers `{ id, text, html }` with the parts' bytes transferred (not copied), `{ id,
 * empty: true }` for a body without both parts, or `{ id, error }`.
 */
import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { encodeBody } from './mime.ts';

// Background work: on Linux a thread has its own nice value, so this one yields the CPU to the thread that
// serves pages (and to the database) when they want it. Where that is not allowed, it runs as it is.
try {
  os.setPriority(10);
} catch {
  // not permitted here: same priority as the rest
}

/** The bytes of `buf` in an ArrayBuffer of their own, so it can be transferred without taking a pool's. */
function own(buf: Buffer): ArrayBuffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer) return buf.buffer;
  const copy = new ArrayBuffer(buf.byteLength);
  new Uint8Array(copy).set(buf);
  return copy;
}

parentPort!.on('message', (job: { id: number; html: string }) => {
  encodeBody(job.html).then(
    (body) => {
      if (!body) return parentPort!.postMessage({ id: job.id, empty: true });
      const text = own(body.text);
      const html = own(body.html);
      parentPort!.postMessage({ id: job.id, text, html }, [text, html]);
    },
    (err: Error) => parentPort!.postMessage({ id: job.id, error: err.message }),
  );
});
