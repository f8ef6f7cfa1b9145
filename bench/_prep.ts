import * as fs from "node:fs";
import { prepareStatusFixture } from "./cli";
const scratch = "/tmp/sstore/fx"; fs.rmSync(scratch, { recursive: true, force: true }); fs.mkdirSync(scratch, { recursive: true });
const t = performance.now();
prepareStatusFixture(scratch, (l) => console.error(l, ((performance.now() - t) / 1000).toFixed(1))).then((f) => { console.log(f.config, ((performance.now() - t) / 1000).toFixed(1)); });
