import { describe, expect, it } from 'vitest';
import { DAWN_SPIN_MS, DAWN_TICK_MAX_MS, DAWN_TICK_MS, dawnTickScheduler, isDawnTick, isSoftwareAdapter } from './dawn-ticks';

/** A stand-in for Dawn's tick callback: a nameless function whose source reads as native, as N-API's do. */
function nativeNameless(body: () => void): () => void {
  const anonymous = [() => body()][0];
  return new Proxy(anonymous, {});
}

/** The scheduler over a fake clock: what it queued, and how (at once or after ms). */
function harness(slowing?: () => boolean) {
  let clock = 0;
  const queued: { how: 'immediate' | number; run: () => void }[] = [];
  const schedule = dawnTickScheduler({
    now: () => clock,
    immediate: (fn, ...args) => queued.push({ how: 'immediate', run: () => fn(...args) }),
    timeout: (fn, ms) => queued.push({ how: ms, run: fn }),
    slowing,
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

  it('ticks less often as a wait grows: a sixteenth of the wait, from DAWN_TICK_MS up to DAWN_TICK_MAX_MS', () => {
    const h = harness();
    let ticks = 0;
    // a long wait: each tick takes 0.1 ms, then Dawn queues the next; the timer's delay passes before it runs
    const tick = nativeNameless(() => {
      ticks++;
      h.advance(0.1);
      if (ticks < 400) h.schedule(tick);
    });
    h.schedule(tick);
    const delays: { at: number; how: 'immediate' | number }[] = [];
    let clock = 0;
    while (h.queued.length > 0) {
      const { how } = h.queued[0];
      delays.push({ at: clock, how });
      if (typeof how === 'number') {
        h.advance(how);
        clock += how;
      }
      clock += 0.1;
      h.runNext();
    }
    const at = (ms: number) => (delays.find((d) => d.at >= ms) as { how: 'immediate' | number }).how;
    expect(DAWN_TICK_MAX_MS).toBe(8);
    expect(at(0)).toBe('immediate');
    expect(at(10)).toBe(DAWN_TICK_MS); // 10 / 16 < 1
    expect(at(64)).toBe(4);
    expect(at(200)).toBe(DAWN_TICK_MAX_MS);
    expect(delays[delays.length - 1].how).toBe(DAWN_TICK_MAX_MS);
    // 400 ticks cover 2.8 s of waiting (at one a millisecond they would cover 0.4 s)
    expect(clock).toBeGreaterThan(2700);
    expect(ticks).toBe(400);
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

  it('runs every tick at once while slowing is off, and slows the ticks again once it is back on', () => {
    let on = false;
    const h = harness(() => on);
    const hows = (n: number) => {
      let ticks = 0;
      const tick = nativeNameless(() => {
        ticks++;
        h.advance(1);
        if (ticks < n) h.schedule(tick);
      });
      h.schedule(tick);
      const out: ('immediate' | number)[] = [];
      while (h.queued.length > 0) {
        out.push(h.queued[0].how);
        h.runNext();
      }
      return out;
    };
    // a 6 ms wait: past DAWN_SPIN_MS, yet each tick at once
    expect(hows(6)).toEqual(Array(6).fill('immediate'));
    on = true;
    h.advance(100);
    expect(hows(4)).toEqual(['immediate', 'immediate', DAWN_TICK_MS, DAWN_TICK_MS]);
  });
});

describe('isSoftwareAdapter', () => {
  it('tells CPU-emulated adapters from GPUs by the adapter info tfjs-backend-webgpu keeps', () => {
    // as tfjs 4.22 reports them here (Debian chromium's SwiftShader) and on an H200 (2026-12-04)
    expect(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: '' })).toBe(false);
    // Mesa's Vulkan on llvmpipe names itself in the description
    expect(isSoftwareAdapter({ vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'intel', architecture: 'gen-12lp' })).toBe(false);
    expect(isSoftwareAdapter({})).toBe(false);
  });
});
