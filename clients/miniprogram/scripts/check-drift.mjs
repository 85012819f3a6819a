// Fails when src/schema.d.ts is not what openapi-typescript makes of the API's current OpenAPI
// document, or when src/errors.ts and the document disagree on the error codes.
// Usage: SCHEMA=path/to/openapi.json npm run check-drift
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const schemaPath = process.env.SCHEMA ?? "openapi.json";
const out = join(mkdtempSync(join(tmpdir(), "sdk-drift-")), "schema.d.ts");
execFileSync("npx", ["openapi-typescript", schemaPath, "-o", out], { stdio: "inherit" });

let failed = false;
if (readFileSync(out, "utf8") !== readFileSync("src/schema.d.ts", "utf8")) {
  console.error(
    "src/schema.d.ts is stale: the API changed. Regenerate and commit it:\n" +
      "  .venv/bin/python manage.py spectacular --format openapi-json --file clients/miniprogram/openapi.json\n" +
      "  (cd clients/miniprogram && npm run gen)",
  );
  try {
    execFileSync("diff", ["-u", "src/schema.d.ts", out], { stdio: "inherit" });
  } catch {
    // diff exits 1 when the files differ: that is the point
  }
  failed = true;
}

const documented = new Set();
const collect = (node) => {
  if (Array.isArray(node)) return node.forEach(collect);
  if (!node || typeof node !== "object") return;
  const code = node.properties?.code;
  if (code?.enum) code.enum.filter((value) => value !== 0).forEach((value) => documented.add(value));
  Object.values(node).forEach(collect);
};
collect(JSON.parse(readFileSync(schemaPath, "utf8")).paths);
const known = new Set(
  [...readFileSync("src/errors.ts", "utf8").matchAll(/^\s+\w+: (\d{5}),$/gm)].map((m) => Number(m[1])),
);
const missing = [...documented].filter((code) => !known.has(code)).sort();
const extra = [...known].filter((code) => !documented.has(code)).sort();
if (missing.length || extra.length) {
  console.error(`src/errors.ts ErrorCode: missing ${missing.join(", ") || "-"}; not in the API ${extra.join(", ") || "-"}`);
  failed = true;
}
if (failed) process.exit(1);
console.log("no drift: src/schema.d.ts and ErrorCode match the API's document");
