/**
 * Dawn's Node binding (the `webgpu` package) settles GPU promises (buffer reads, onSubmittedWorkDone)
 * by ticking the device from a `globalThis.setImmediate` loop for as long as one is pending
 * (crbug.com/dawn/1127): one core spins at 100% while the GPU works. With a GPU that core would
 * idle anyway; with SwiftShader, whose threads run the GPU work on the same cores, the spinning
 * takes a third of a 2-core machine from it (100 ReLUs of 50x84x256: 2713 -> 1585 ms with the
 * ticks below; 185742 ticks in 2.8 s before).
 *
 * The replacement keeps Dawn's first ticks of a wait immediate, so a short wait (a small readback)
 * ends as soon as before, then ticks once a millisecond, less often as the wait grows. Only Dawn's tick callbacks are slowed:
 * N-API functions, which are native and nameless; every other caller gets setImmediate itself.
 */

type Callback = (...args: unknown[]) => void;

export interface TickSchedulerDeps {
  now: () => number;
  immediate: (fn: Callback, ...args: unknown[]) => unknown;
  timeout: (fn: Callback, ms: number) => unknown;
  /** Whether to slow Dawn's ticks at all (default: always); when false every tick runs at once. */
  slowing?: () => boolean;
}

/** Milliseconds of a wait during which Dawn still ticks at once (a small readback takes ~0.2-1 ms). */
export const DAWN_SPIN_MS = 2;
/** The tick interval after that... */
export const DAWN_TICK_MS = 1;
/**
 * ... growing with the wait (a sixteenth of it) up to this: each tick costs the main thread ~0.1 ms,
 * 7% of a core at one a millisecond, and a wait of a second or more (a whole head pass on
 * SwiftShader) loses at most this much.
 */
export const DAWN_TICK_MAX_MS = 8;

/**
 * Whether `fn` may be one of Dawn's tick callbacks: a native function without a name (JS and bound
 * functions have source or a name). A Promise's resolve function looks the same; queued from
 * outside a tick it starts a wait, so it still runs at once (and only restarts the spin window).
 */
export function isDawnTick(fn: unknown): boolean {
  return typeof fn === 'function' && fn.name === '' && Function.prototype.toString.call(fn).includes('[native code]');
}

/**
 * A setImmediate for Dawn's ticks: a tick queued outside a tick starts a wait; the ticks that
 * follow it (queued from inside the previous one) run at once for DAWN_SPIN_MS, then every DAWN_TICK_MS,
 * the interval growing with the wait to DAWN_TICK_MAX_MS.
 */
export function dawnTickScheduler(deps: TickSchedulerDeps): (fn: Callback, ...args: unknown[]) => unknown {
  let waitStart = 0;
  let inTick = false;
  return (fn, ...args) => {
    if (!isDawnTick(fn) || (deps.slowing && !deps.slowing())) return deps.immediate(fn, ...args);
    const t = deps.now();
    if (!inTick) waitStart = t;
    const run = () => {
      inTick = true;
      try {
        fn(...args);
      } finally {
        inTick = false;
      }
    };
    const waited = t - waitStart;
    if (waited < DAWN_SPIN_MS) return deps.immediate(run);
    return deps.timeout(run, Math.min(DAWN_TICK_MAX_MS, Math.max(DAWN_TICK_MS, Math.floor(waited / 16))));
  };
}

const INSTALLED = Symbol.for('dynhead.dawnTicks');
const SLOWING = Symbol.for('dynhead.dawnTicksSlowing');

/**
 * Whether a WebGPU adapter computes on the CPU (SwiftShader, llvmpipe/lavapipe): only there does
 * Dawn's spinning take cores from the GPU work. On an H200 (2026-12-04) the slowed ticks cost a
 * head pass at 800x1333 8-9 ms of its 20-55 (FCOS 27.9 -> 20.3 ms, D8 Mid 52.9 -> 43.7 ms).
 */
export function isSoftwareAdapter(info: { vendor?: string; architecture?: string; description?: string }): boolean {
  return /swiftshader|llvmpipe|lavapipe|software/i.test(`${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`);
}

/**
 * Turns the slowing of Dawn's ticks on or off once throttleDawnTicks has installed it (the
 * scheduler stays; off, every tick runs at once as in Dawn's own loop). useBackend('webgpu') turns
 * it off for a hardware adapter.
 */
export function setDawnTickSlowing(on: boolean): void {
  (globalThis as unknown as Record<PropertyKey, unknown>)[SLOWING] = on;
}

/**
 * Routes Dawn's ticks through dawnTickScheduler by replacing globalThis.setImmediate (which the
 * binding looks up on every tick); other callers see no change. Idempotent.
 */
export function throttleDawnTicks(): void {
  const g = globalThis as unknown as Record<PropertyKey, unknown> & { setImmediate: (fn: Callback, ...args: unknown[]) => unknown };
  if (g[INSTALLED]) return;
  const original = g.setImmediate;
  const replacement = dawnTickScheduler({
    now: () => performance.now(),
    immediate: original,
    timeout: (fn, ms) => setTimeout(fn, ms),
    slowing: () => g[SLOWING] !== false,
  });
  // keep setImmediate's own properties (util.promisify's custom form)
  Object.defineProperties(replacement, Object.getOwnPropertyDescriptors(original));
  g.setImmediate = replacement;
  g[INSTALLED] = true;
}
