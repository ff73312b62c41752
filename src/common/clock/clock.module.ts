import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ID_GENERATOR, type IdGenerator, RandomIds } from '../ids.js';
import { CLOCK, type Clock, SystemClock } from './clock.js';

/**
 * Makes one clock and one id generator injectable everywhere (`@Inject(CLOCK)`,
 * `@Inject(ID_GENERATOR)`): the system's time and random ids, or the ones a test passes.
 */
@Global()
@Module({})
export class ClockModule {
  static forRoot(clock?: Clock, ids?: IdGenerator): DynamicModule {
    return {
      module: ClockModule,
      providers: [
        { provide: CLOCK, useValue: clock ?? new SystemClock() },
        { provide: ID_GENERATOR, useValue: ids ?? new RandomIds() },
      ],
      exports: [CLOCK, ID_GENERATOR],
    };
  }
}
