// The simulator's clock: its base clock (real time, or a fixed one in tests) plus an offset an
// admin can set or advance (/admin/clock), so claim periods of days run in a test in milliseconds.
// Every rule (entry dates, claim deadlines, rate-limit refills) reads this clock.

export class SimClock {
  private offsetMs = 0;

  constructor(private readonly base: () => Date = () => new Date()) {}

  now(): Date {
    return new Date(this.base().getTime() + this.offsetMs);
  }

  /** Makes now() answer `at` (time keeps flowing from there with the base clock). */
  set(at: Date): void {
    this.offsetMs = at.getTime() - this.base().getTime();
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  /** Back to the base clock. */
  reset(): void {
    this.offsetMs = 0;
  }

  snapshot(): { now: string; offsetMs: number } {
    return { now: this.now().toISOString(), offsetMs: this.offsetMs };
  }
}
