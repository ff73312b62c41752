// Types of the parts of test/sequencer.mjs that src/architecture.spec.ts checks.
export function estimatedSize(path: string, read?: (file: string) => string, size?: (file: string) => number): number;
export function byEstimate(paths: string[], estimate?: (path: string) => number): string[];
