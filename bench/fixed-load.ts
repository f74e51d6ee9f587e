// A fixed number of GETs over keep-alive connections, `concurrency` at a time; prints how many
// failed. For instruction counts (bench/instructions-per-request.sh), where a timed load would
// send a different number of requests each run.
//   node --import tsx bench/fixed-load.ts PORT TOTAL CONCURRENCY [PATH]
import http from 'node:http';

const [port, total, concurrency] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const path = process.argv[5] ?? '/v1/items/abc';
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
let sent = 0;
let done = 0;
let failed = 0;

await new Promise<void>((resolve) => {
  const finish = (): void => {
    if (++done === total) resolve();
    else next();
  };
  const next = (): void => {
    if (sent === total) return;
    sent++;
    http
      .get({ host: '127.0.0.1', port, path, agent }, (response) => {
        if (response.statusCode !== 200) failed++;
        response.resume();
        response.on('end', finish);
      })
      .on('error', () => {
        failed++;
        finish();
      });
  };
  for (let i = 0; i < concurrency; i++) next();
});
agent.destroy();
console.log(JSON.stringify({ total, failed }));
