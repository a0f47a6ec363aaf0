/**
 * A problem with what the caller gave (a file, a field in it, an option, a config name), not a bug:
 * the message names the file, field or option at fault. Command lines print it as one line without
 * a stack; they should match on `name === 'InputError'`, since a bundled copy of this class is a
 * different class to `instanceof`.
 */
export class InputError extends Error {
  override name = 'InputError';
}
