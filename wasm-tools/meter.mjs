// Adds deterministic fuel metering to a WASI module (run by build.sh; needs the `binaryen` dev
// dependency, pinned, so the output is byte-for-byte reproducible).
//   node meter.mjs in.wasm out.wasm
//
// The module gets a mutable i64 global exported as `warden_fuel`, initially the largest i64 (a run
// that never sets it is not limited: the worker pool, which stops a run at its deadline instead).
// Every function entry, every loop header and every function return subtracts one from it; when it
// drops below zero the module traps (`unreachable`) at that point. The runtime sets a small budget
// before a run on the main thread (src/sandbox/inline/) and re-runs the call in the pool when the
// trap fires. Host calls are charged by the runtime itself, into the same global.
//
// Fails (exit 1, naming the count) unless every loop of the module got its charge.
import binaryen from "binaryen";
import { readFileSync, writeFileSync } from "node:fs";

export const FUEL_EXPORT = "warden_fuel";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node meter.mjs in.wasm out.wasm");
  process.exit(2);
}

const m = binaryen.readBinary(readFileSync(input));
m.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.SIMD128 | binaryen.Features.SignExt | binaryen.Features.BulkMemory | binaryen.Features.NontrappingFPToInt);
const loops = (m.emitText().match(/\(loop[ \n]/g) ?? []).length;

// Loop headers and function returns: binaryen's own walk (log-execution) calls an import there;
// that import is then replaced by a defined function and inlined.
binaryen.setPassArgument("log-execution", "warden");
m.runPasses(["log-execution"]);
m.removeFunction("log_execution");

m.addGlobal(FUEL_EXPORT, binaryen.i64, true, m.i64.const(0x7fffffffffffffffn));
m.addGlobalExport(FUEL_EXPORT, FUEL_EXPORT);
const chargeBody = () =>
  m.block(null, [
    m.global.set(FUEL_EXPORT, m.i64.sub(m.global.get(FUEL_EXPORT, binaryen.i64), m.i64.const(1n))),
    m.if(m.i64.lt_s(m.global.get(FUEL_EXPORT, binaryen.i64), m.i64.const(0n)), m.unreachable()),
  ]);
m.addFunction("log_execution", binaryen.i32, binaryen.none, [], chargeBody());

// Function entries: the charge itself at the start of every defined function.
for (let i = 0; i < m.getNumFunctions(); i++) {
  const fn = m.getFunctionByIndex(i);
  const info = binaryen.getFunctionInfo(fn);
  if (info.base || info.name === "log_execution") continue;
  binaryen.Function.setBody(fn, m.block(null, [chargeBody(), info.body], info.results));
}
binaryen.setDebugInfo(false);
if (!m.validate()) {
  console.error(`meter.mjs: ${input}: the metered module does not validate`);
  process.exit(1);
}
const text = m.emitText();
// Each loop header calls the charge (log-execution puts it first in the loop's body).
const charged = (text.match(/\(loop [^\n]*\n\s*\(block[^\n]*\n\s*\(call \$log_execution\n|\(loop [^\n]*\n\s*\(call \$log_execution\n/g) ?? []).length;
if (charged !== loops) {
  console.error(`meter.mjs: ${input}: ${loops} loops but ${charged} charged at their header`);
  process.exit(1);
}
writeFileSync(output, m.emitBinary());
m.dispose();
