import { main } from './main.js';

main(process.argv).catch((e) => {
  process.stderr.write(`imaged: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
