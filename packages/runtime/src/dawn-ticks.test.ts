import { describe, expect, it } from 'vitest';
import { DAWN_SPIN_MS, DAWN_TICK_MS, dawnTickScheduler, isDawnTick } from './dawn-ticks';

/** A stand-in for Dawn's tick callback: a nameless function whose source reads as native, as N-API's do. */
function nativeNameless(body: () => void): () => void {
  const anonymous = [() => body()][0];
  return new Proxy(anonymous, {});
}

/** The scheduler over a fake clock: what it queued, and how (at once or after ms). */
function harness() {
  let clock = 0;
  const queued: { how: 'immediate' | number; run: () => void }[] = [];
  const schedule = dawnTickScheduler({
    now: () => clock,
    immediate: (fn, ...args) => queued.push({ how: 'immediate', run: () => fn(...args) }),
    timeout: (fn, ms) => queued.push({ how: ms, run: fn }),
  });
  return {
    schedule,
    queued,
    advance: (ms: number) => {
      clock += ms;
    },
    runNext: () => (queued.shift() as { run: () => void }).run(),
  };
}

describe('dawnTickScheduler', () => {
  it('tells Dawn ticks from other callbacks', () => {
    expect(isDawnTick(nativeNameless(() => {}))).toBe(true);
    expect(isDawnTick(() => {})).toBe(false);
    expect(isDawnTick(function named() {})).toBe(false);
    expect(isDawnTick((() => {}).bind(null))).toBe(false); // 'bound ' + name
    expect(isDawnTick(Math.max)).toBe(false);
    expect(isDawnTick(undefined)).toBe(false);
  });

  it('ticks at once for the first DAWN_SPIN_MS of a wait, then every DAWN_TICK_MS, and starts over for the next wait', () => {
    const h = harness();
    let ticks = 0;
    // Dawn's loop: each tick queues the next while a promise is pending (here: the first 6 ticks)
    const tick = nativeNameless(() => {
      ticks++;
      h.advance(0.5);
      if (ticks < 6) h.schedule(tick);
    });
    h.schedule(tick);
    const hows: ('immediate' | number)[] = [];
    while (h.queued.length > 0) {
      hows.push(h.queued[0].how);
      h.runNext();
    }
    // ticks start at 0, 0.5, 1.0, 1.5 (< 2 ms: at once), then 2.0 and 2.5 ms into the wait
    expect(DAWN_SPIN_MS).toBe(2);
    expect(hows).toEqual(['immediate', 'immediate', 'immediate', 'immediate', DAWN_TICK_MS, DAWN_TICK_MS]);
    // a later wait (queued from outside a tick) spins again
    h.advance(100);
    h.schedule(nativeNameless(() => {}));
    expect(h.queued.map((q) => q.how)).toEqual(['immediate']);
  });

  it("runs a Promise's resolve function (native and nameless, like Dawn's ticks) at once", () => {
    const h = harness();
    let resolve: (v: unknown) => void = () => {};
    void new Promise((r) => {
      resolve = r;
    });
    expect(isDawnTick(resolve)).toBe(true);
    h.advance(50);
    h.schedule(resolve);
    expect(h.queued.map((q) => q.how)).toEqual(['immediate']);
  });

  it('runs other callbacks at once with their arguments, whatever the wait', () => {
    const h = harness();
    const got: unknown[] = [];
    h.advance(50);
    h.schedule((a: unknown, b: unknown) => got.push(a, b), 1, 'two');
    expect(h.queued.map((q) => q.how)).toEqual(['immediate']);
    h.runNext();
    expect(got).toEqual([1, 'two']);
  });
});
