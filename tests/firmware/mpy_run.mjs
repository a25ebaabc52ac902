// Runs the firmware tests on a real MicroPython: the WebAssembly port from npm
// (@micropython/micropython-webassembly-pyscript, installed into firmware/.mpy-wasm by firmware/setup-dev.sh).
// firmware/, the tests and the golden frames are copied into its in-memory filesystem under /loa, then
// tests/firmware/mpy_runner.py runs them. Exit code 0 only if every test passed.
// With LOA_FIRMWARE_BUILD=<dir> (made by `BUILD=<dir> bash firmware/deploy.sh --build-only`) the firmware modules
// are the compiled .mpy files that get flashed, not the sources.
//
//   node tests/firmware/mpy_run.mjs
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const runtime = process.env.LOA_MPY_WASM
  || join(repo, "firmware/.mpy-wasm/node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs");
if (!existsSync(runtime)) {
  console.error(`MicroPython WebAssembly port not found at ${runtime}; run: bash firmware/setup-dev.sh`);
  process.exit(2);
}
const { loadMicroPython } = await import(pathToFileURL(runtime).href);
// 512 KiB of heap: the tests, their golden file and the firmware fit well inside what a Pico leaves free.
const mp = await loadMicroPython({
  heapsize: 512 * 1024,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});

function copy(relDir, pattern, fromDir = join(repo, relDir), skip = new Set()) {
  mp.FS.mkdirTree(join("/loa", relDir));
  for (const name of readdirSync(fromDir).filter((n) => pattern.test(n) && !skip.has(n))) {
    mp.FS.writeFile(join("/loa", relDir, name), readFileSync(join(fromDir, name)));
  }
}
const build = process.env.LOA_FIRMWARE_BUILD;
if (build) {
  const compiled = readdirSync(join(build, "firmware")).filter((n) => n.endsWith(".mpy"));
  copy("firmware", /\.mpy$/, join(build, "firmware"));
  // MicroPython imports X.py before X.mpy, so only the sources that were not compiled (fakes.py) go in.
  copy("firmware", /\.py$/, undefined, new Set(compiled.map((n) => n.replace(/\.mpy$/, ".py"))));
} else {
  copy("firmware", /\.py$/);
}
copy("tests", /^__init__\.py$/);
copy("tests/firmware", /\.py$/);
copy("tests/golden", /^coproc_frames\.json$/);

try {
  mp.runPython(
    "import sys\nsys.path.insert(0, '/loa')\nfrom tests.firmware import mpy_runner\nfailed = mpy_runner.main()",
  );
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
process.exit(mp.globals.get("failed") === 0 ? 0 : 1);
