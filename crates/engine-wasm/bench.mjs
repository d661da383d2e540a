// Times the records workload in WebAssembly: node bench.mjs <module.wasm> <partitions> <records>
// Prints the seconds of the fastest of 3 runs.
import { readFileSync } from "node:fs";

const [wasmPath, partitions, records] = process.argv.slice(2);
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
let best = Infinity;
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  const got = instance.exports.bench_records(Number(partitions), Number(records));
  best = Math.min(best, (performance.now() - t) / 1000);
  if (Number(got) !== Number(records)) throw new Error(`the batch read ${got} records, not ${records}`);
}
console.log(best.toFixed(6));
