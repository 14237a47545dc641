/**
 * An SMTP sink in a process of its own (so it does not share the event loop with what is measured):
 * accepts every message and discards it. Writes `{"port":…}` on stdout when listening; on SIGTERM writes
 * `{"accepted":…}` and exits.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

let accepted = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  size: 50 * 1024 * 1024,
  maxClients: 1000,
  onData(stream, _session, cb) {
    stream.on('end', () => {
      accepted++;
      cb();
    });
    stream.resume();
  },
});
server.listen(Number(process.env.SINK_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ accepted })}\n`);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
// stdin is a pipe from the parent: when it closes, the parent is gone.
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
