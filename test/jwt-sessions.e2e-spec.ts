// Small e2e specs in one Jest file, so that NestJS, the AWS SDK and the app load once for all of them
// (docs/testing.md, "Grouped e2e files"). Each spec is its own `*.e2e-part.ts`, in its own `describe`.
import './auth-two-apps.e2e-part.js';
import './sessions-lifetime.e2e-part.js';
