/** Folder -> folder it imports -> the file imports that make the edge. */
export type FolderGraph = Map<string, Map<string, string[]>>;
export const SRC: string;
export const ARCHITECTURE_DOC: string;
export function importsOf(code: string): string[];
export function folderGraph(src?: string, files?: [path: string, code: string][]): FolderGraph;
export function folderLoops(graph: FolderGraph): string[][];
export function mermaidOf(graph: FolderGraph): string;
export function withGraph(doc: string, graph: FolderGraph): string;
