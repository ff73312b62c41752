// This peer is plain JavaScript, so it runs without a build step and stays out of the project's
// TypeScript, lint and test configuration. Nest's decorators are applied here as TypeScript's
// emitted `__decorate`/`__param`/`__metadata` calls apply them: the same functions run at start-up,
// and nothing differs per request.
import 'reflect-metadata';

/** Class decorators, and the constructor's parameter types for Nest's injector. */
export function decorateClass(target, decorators, paramTypes = []) {
  Reflect.defineMetadata('design:paramtypes', paramTypes, target);
  return Reflect.decorate(decorators, target);
}

/** A method's decorators; `params[i]` decorates its i-th parameter, `paramTypes` are their classes. */
export function decorateMethod(target, name, decorators, params = [], paramTypes = []) {
  const proto = target.prototype;
  Reflect.defineMetadata('design:paramtypes', paramTypes, proto, name);
  params.forEach((decorator, index) => decorator?.(proto, name, index));
  const descriptor = Object.getOwnPropertyDescriptor(proto, name);
  Object.defineProperty(proto, name, Reflect.decorate(decorators, proto, name, descriptor) ?? descriptor);
}

/** Property decorators (class-validator rules on a DTO field). */
export function decorateProperty(target, name, decorators, type = String) {
  Reflect.defineMetadata('design:type', type, target.prototype, name);
  for (const decorator of decorators) decorator(target.prototype, name);
}
