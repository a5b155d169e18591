// Time Squiggle on a model: `node run.mjs SAMPLES [REPEATS] [FILE.squiggle]` prints one JSON line with the best
// wall time over the repeats and the estimate's P10/P50/P90 and mean.
import { readFileSync } from "node:fs";
import { run } from "@quri/squiggle-lang";

const samples = Number(process.argv[2] ?? 100000);
const repeats = Number(process.argv[3] ?? 3);
const code = readFileSync(new URL(`./${process.argv[4] ?? "seed7t.squiggle"}`, import.meta.url), "utf8");
const environment = { sampleCount: samples, xyPointLength: 1000, seed: "flopgrid" };

let best = Infinity;
let summary = null;
for (let k = 0; k < repeats; k++) {
  const start = process.hrtime.bigint();
  const output = await run(code, { environment });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (!output.result.ok) {
    console.error(output.result.value.toString());
    process.exit(1);
  }
  best = Math.min(best, seconds);
  const bindings = output.result.value.bindings;
  summary = bindings.get("summary").value.getValues().map((v) => v.value);
}
console.log(JSON.stringify({ samples, seconds: best, p10: summary[0], p50: summary[1], p90: summary[2], mean: summary[3] }));
