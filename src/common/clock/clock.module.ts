import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CLOCK, type Clock, SystemClock } from './clock.js';

/** Makes one clock injectable everywhere (`@Inject(CLOCK)`): the system's, or the one a test passes. */
@Global()
@Module({})
export class ClockModule {
  static forRoot(clock?: Clock): DynamicModule {
    return {
      module: ClockModule,
      providers: [{ provide: CLOCK, useValue: clock ?? new SystemClock() }],
      exports: [CLOCK],
    };
  }
}
