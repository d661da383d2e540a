// Decode time per fixture in WebAssembly under Node (no JS glue): node wasm_timing.mjs <module.wasm> <files…>
import { readFileSync } from "node:fs";

const [wasmPath, ...files] = process.argv.slice(2);
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
const ex = instance.exports;
for (const path of files) {
  const file = readFileSync(path);
  const run = () => {
    const p = ex.sc_alloc(file.length);
    new Uint8Array(ex.memory.buffer, p, file.length).set(file);
    const ok = ex.sc_inspect_json(p, file.length);
    ex.sc_dealloc(p, file.length);
    return ok;
  };
  const ok = run();
  const rounds = 200;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) run();
  const us = ((performance.now() - t0) / rounds) * 1000;
  const json = JSON.parse(new TextDecoder().decode(new Uint8Array(ex.memory.buffer, ex.sc_out_ptr(), ex.sc_out_len())));
  const k = json.checkpoint?.streams?.find((s) => s.kafka)?.kafka;
  console.log(`${path.split("/").slice(-2).join("/").padEnd(60)} ${String(file.length).padStart(6)} B ${us.toFixed(1).padStart(8)} µs ${ok ? "ok" : json.error} ${k ? "currentOffsets " + k.currentOffsets.map((o) => o.offset).join(",") : ""}`);
}
