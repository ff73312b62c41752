/** Injection token of the typed, validated `AppConfig`. */
export const APP_CONFIG = Symbol('APP_CONFIG');
