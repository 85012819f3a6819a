// Fails when src/schema.d.ts is not what openapi-typescript makes of the API's current OpenAPI
// document, when src/errors.ts and the document disagree on the error codes, or when the
// versions in src/version.ts are not package.json's (with a CHANGELOG.md entry) and the document's.
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
// Versions (src/version.ts): the SDK's is package.json's and has a CHANGELOG.md entry; the API
// version it was generated from is the document's.
const version = readFileSync("src/version.ts", "utf8");
const constant = (name) => new RegExp(`export const ${name} = "([^"]+)"`).exec(version)?.[1];
const packageVersion = JSON.parse(readFileSync("package.json", "utf8")).version;
const documentVersion = JSON.parse(readFileSync(schemaPath, "utf8")).info.version;
if (constant("SDK_VERSION") !== packageVersion) {
  console.error(`src/version.ts SDK_VERSION ${constant("SDK_VERSION")} is not package.json's ${packageVersion}`);
  failed = true;
}
if (constant("API_VERSION") !== documentVersion) {
  console.error(`src/version.ts API_VERSION ${constant("API_VERSION")} is not the document's ${documentVersion}`);
  failed = true;
}
if (!new RegExp(`^## ${packageVersion.replaceAll(".", "\\.")}\\b`, "m").test(readFileSync("CHANGELOG.md", "utf8"))) {
  console.error(`CHANGELOG.md has no "## ${packageVersion}" entry`);
  failed = true;
}
if (failed) process.exit(1);
console.log("no drift: src/schema.d.ts, ErrorCode and the versions match the API's document");
