import { pino, type Logger } from 'pino';

/** JSON lines on stderr (journald keeps them); stdout stays for what the CLI prints. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { svc: 'imaged' } }, pino.destination(2));
}
