// Small e2e specs in one Jest file, so that NestJS, the AWS SDK and the app load once for all of them
// (docs/testing.md, "Grouped e2e files"). Each spec is its own `*.e2e-part.ts`, in its own `describe`.
// engine-sharing sets the child-process bound (240 s) for the whole file.
import './table-layout.e2e-part.js';
import './layout-v1-counters.e2e-part.js';
import './seed.e2e-part.js';
import './engine-sharing.e2e-part.js';
