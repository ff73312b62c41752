import { TestEnvironment } from 'jest-environment-jsdom';

/**
 * jsdom for the React hooks' tests, which also run the real app in the same worker. jsdom lacks
 * web platform pieces that browsers and Node both have (text codecs, streams, the fetch classes);
 * the app's AWS SDK and the client need them, so they come from Node itself (no polyfill).
 * `fetch` itself stays out, as for a client that must be given one: Node's is there as
 * `nodeFetch`, which the tests hand to the client explicitly.
 */
const FROM_NODE = [
  'TextEncoder',
  'TextDecoder',
  'ReadableStream',
  'WritableStream',
  'TransformStream',
  'Headers',
  'Request',
  'Response',
  'FormData',
  'AbortController',
  'AbortSignal',
  'structuredClone',
  'setImmediate',
  'clearImmediate',
];

export default class JsdomWithNodeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(
      {
        ...config,
        // The app under test must load its Node builds (the AWS SDK's above all), not browser ones.
        projectConfig: {
          ...config.projectConfig,
          testEnvironmentOptions: {
            customExportConditions: ['node', 'node-addons'],
            ...config.projectConfig.testEnvironmentOptions,
          },
        },
      },
      context,
    );
    for (const name of FROM_NODE) this.global[name] = globalThis[name];
    this.global.nodeFetch = globalThis.fetch;
  }
}
