import { Module } from '@nestjs/common';
import { ActionLinksService } from './action-links.service.js';
import { ActionTokensRepository } from './action-tokens.repository.js';

@Module({ providers: [ActionLinksService, ActionTokensRepository], exports: [ActionLinksService] })
export class ActionLinksModule {}
