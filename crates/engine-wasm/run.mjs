// Runs scenarios through engine_wasm.wasm in Node and writes each trace next to the given output
// prefix: node run.mjs <module.wasm> <out-dir> <scenario.toml>...
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const [wasmPath, outDir, ...files] = process.argv.slice(2);
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
const { memory, alloc, dealloc, run_scenario } = instance.exports;

for (const file of files) {
  const input = readFileSync(file);
  const ptr = alloc(input.length);
  new Uint8Array(memory.buffer, ptr, input.length).set(input);
  const packed = run_scenario(ptr, input.length);
  dealloc(ptr, input.length);
  const outPtr = Number(packed >> 32n);
  const outLen = Number(packed & 0xffffffffn);
  const out = Buffer.from(new Uint8Array(memory.buffer, outPtr, outLen));
  dealloc(outPtr, outLen);
  writeFileSync(`${outDir}/${basename(file, ".toml")}.wasm.jsonl`, out);
}
