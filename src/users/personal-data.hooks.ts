import { Injectable } from '@nestjs/common';

/** The sections other modules contribute to a personal-data export. */
export interface PersonalDataSections {
  posts: unknown[];
  comments: unknown[];
  likes: unknown[];
  commentLikes: unknown[];
}

export type PersonalDataCollector = (userId: string, now: Date) => Promise<unknown[]>;

/**
 * Modules that store what a user did (posts, comments, likes) register here how to list it for
 * `GET /users/me/export`, as they register with `UserErasureHooks` how to anonymise it: users
 * cannot depend on them. A module that stores new personal data registers a section too.
 */
@Injectable()
export class PersonalDataHooks {
  private readonly collectors = new Map<keyof PersonalDataSections, PersonalDataCollector>();

  register(section: keyof PersonalDataSections, collector: PersonalDataCollector): void {
    this.collectors.set(section, collector);
  }

  async collect(userId: string, now: Date): Promise<PersonalDataSections> {
    const sections: PersonalDataSections = { posts: [], comments: [], likes: [], commentLikes: [] };
    for (const [section, collector] of this.collectors) sections[section] = await collector(userId, now);
    return sections;
  }
}
