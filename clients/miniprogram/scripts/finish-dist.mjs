// After `tsc -p tsconfig.build.json`: the generated types (a .d.ts, which tsc does not copy)
// and a package.json saying the output is CommonJS (what WeChat's "build npm" bundles; the
// package's own "type": "module" is for its tests).
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";

copyFileSync("src/schema.d.ts", "dist/schema.d.ts");
const { name, version } = JSON.parse(readFileSync("package.json", "utf8"));
writeFileSync(
  "dist/package.json",
  JSON.stringify(
    { name, version, type: "commonjs", main: "index.js", types: "index.d.ts" },
    null,
    2,
  ) + "\n",
);
