import { Global, Module } from '@nestjs/common';
import { SlugService } from './slug.service.js';

/** The shared slug utility of categories, tags and posts. */
@Global()
@Module({ providers: [SlugService], exports: [SlugService] })
export class SlugsModule {}
