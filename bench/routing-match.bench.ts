// Route matching cost: ns per RouteTable.match for a small API (10 routes) and a large one
// (1,000 routes), with the same request mix. Run: node --import tsx bench/routing-match.bench.ts
import { parsePathTemplate } from '../src/routing/path-template.js';
import { RouteTable } from '../src/routing/route-table.js';

const RESOURCE_RULES: ReadonlyArray<readonly [string, string]> = [
  ['GET', '/v1/{name=projects/*/RES/*}'],
  ['GET', '/v1/{parent=projects/*}/RES'],
  ['POST', '/v1/{parent=projects/*}/RES'],
  ['PATCH', '/v1/{RES.name=projects/*/RES/*}'],
  ['DELETE', '/v1/{name=projects/*/RES/*}'],
  ['GET', '/v1/{name=projects/*/RES/*/versions/*}'],
  ['GET', '/v1/{name=projects/*/RES/*/versions/*}:access'],
  ['POST', '/v1/{name=projects/*/RES/*}:disable'],
  ['GET', '/v1/{name=projects/*/RES/**}/history'],
  ['GET', '/v1/RES/static/list'],
];

function buildTable(resources: number): RouteTable<number> {
  const table = new RouteTable<number>();
  let id = 0;
  for (let r = 0; r < resources; r++) {
    for (const [method, source] of RESOURCE_RULES) {
      const parsed = parsePathTemplate(source.replaceAll('RES', `res${r}`));
      if (!parsed.ok) throw new Error(parsed.message);
      table.add(method, parsed.template, id++);
    }
  }
  return table;
}

/** Requests against the first and the last resource so a large table cannot favour early routes. */
function requests(resources: number): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  for (const r of [0, resources - 1]) {
    out.push(
      ['GET', `/v1/projects/p1/res${r}/item-42`],
      ['GET', `/v1/projects/p1/res${r}`],
      ['PATCH', `/v1/projects/p1/res${r}/it%2Fem`],
      ['GET', `/v1/projects/p1/res${r}/s/versions/7:access`],
      ['GET', `/v1/projects/p1/res${r}/s/versions/7`],
      ['GET', `/v1/projects/p1/res${r}/a/b/c/history`],
      ['PUT', `/v1/projects/p1/res${r}/s`],
      ['GET', `/v1/projects/p1/nothing/here`],
    );
  }
  return out;
}

function bench(resources: number): void {
  const table = buildTable(resources);
  const reqs = requests(resources);
  let sink = 0;
  const run = (iterations: number): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      const [method, path] = reqs[i % reqs.length]!;
      const result = table.match(method, path);
      if (result.kind === 'found') sink += result.route;
    }
    return Number(process.hrtime.bigint() - start) / iterations;
  };
  run(200_000); // warm-up
  const samples = [run(500_000), run(500_000), run(500_000)].sort((a, b) => a - b);
  const routes = resources * RESOURCE_RULES.length;
  console.log(
    `${String(routes).padStart(5)} routes: ${samples[1]!.toFixed(0)} ns/match (median of 3; min ${samples[0]!.toFixed(0)}) [${sink > 0 ? 'ok' : '-'}]`,
  );
}

bench(1);
bench(100);
