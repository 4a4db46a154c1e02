import { main } from './main.js';

// Start-up failures are the operator's to fix: one line, no stack trace (IMAGED_TRACE=1 shows it).
main(process.argv).catch((e) => {
  const text = e instanceof Error ? (process.env.IMAGED_TRACE === '1' ? e.stack : e.message) : String(e);
  process.stderr.write(`imaged: ${text}\n`);
  process.exit(1);
});
