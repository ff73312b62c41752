export const ROUNDING_STEP: number;
export interface SizeCost {
  calls: number;
  rcu: number;
  wcu: number;
  listed?: number;
  atBound?: boolean;
}
export interface GrowthBound {
  queries: number;
  about: string;
}
export function judgeGrowth(pattern: { kind: 'read' | 'write'; bySize: SizeCost[]; bound?: GrowthBound }): {
  grows: boolean;
  why: string;
};
