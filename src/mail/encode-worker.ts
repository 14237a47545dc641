/**
 * A worker thread of the body encoder (`encoder.ts`): derives a body's plain text and encodes its text
 * and HTML parts (`encodeBody`), off the main thread that serves pages and talks SMTP. Gets
 * `{ id, html }`, answers `{ id, text, html }` with the parts' bytes transferred (not copied), `{ id,
 * empty: true }` for a body without both parts, or `{ id, error }`.
 */
import { parentPort } from 'node:worker_threads';
import { encodeBody } from './mime.ts';

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
