// When the field app locks itself: after `idleMs` without a touch, a key
// press or scrolling, and `backgroundMs` after the page goes to the
// background (`visibilitychange` to hidden: another app, the home screen, the
// screen turned off). Background timers are throttled by phones, so coming
// back to the foreground also checks how long the page was away. The delays
// are read from the lockbox each time (the settings screen changes them).

const ACTIVITY = ['pointerdown', 'keydown', 'touchstart', 'wheel', 'input'];

export class LockWatch {
  /**
   * `settings()` returns `{ idleMs, backgroundMs }` (or null when there is
   * nothing to lock); `onLock(why)` locks (`idle` or `background`).
   */
  constructor({ settings, onLock }) {
    this.settings = settings;
    this.onLock = onLock;
    this.lastActivity = Date.now();
    this.hiddenAt = null;
    this.bgTimer = null;
    this.armed = false;
  }

  start() {
    const touch = () => { this.lastActivity = Date.now(); };
    for (const ev of ACTIVITY) document.addEventListener(ev, touch, { capture: true, passive: true });
    addEventListener('scroll', touch, { passive: true });
    document.addEventListener('visibilitychange', () => this.#visibility());
    setInterval(() => this.#checkIdle(), 500);
  }

  /** Unlocked: start counting from now. */
  arm() {
    this.armed = true;
    this.lastActivity = Date.now();
    this.hiddenAt = document.visibilityState === 'hidden' ? Date.now() : null;
  }

  /** Locked (or nothing to lock): stop counting. */
  disarm() {
    this.armed = false;
    clearTimeout(this.bgTimer);
    this.bgTimer = null;
  }

  #lock(why) {
    if (!this.armed) return;
    this.disarm();
    this.onLock(why);
  }

  #checkIdle() {
    const s = this.armed && this.settings();
    if (s && Date.now() - this.lastActivity >= s.idleMs) this.#lock('idle');
  }

  #visibility() {
    const s = this.armed && this.settings();
    if (!s) return;
    clearTimeout(this.bgTimer);
    this.bgTimer = null;
    if (document.visibilityState === 'hidden') {
      this.hiddenAt = Date.now();
      if (s.backgroundMs <= 0) this.#lock('background');
      else this.bgTimer = setTimeout(() => this.#lock('background'), s.backgroundMs);
    } else {
      const away = this.hiddenAt === null ? 0 : Date.now() - this.hiddenAt;
      this.hiddenAt = null;
      if (away >= s.backgroundMs) this.#lock('background');
      else this.lastActivity = Date.now();
    }
  }
}
