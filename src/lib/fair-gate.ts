/**
 * Runs at most `concurrency` tasks at once; the others wait in a bounded line shared fairly
 * between keys (for password checks: the client's network). Turns go round the keys that wait, so
 * a key with many tasks waiting delays another key's task by one turn, not by all of its tasks.
 * When the line is full, a newcomer takes the place of the newest task of the key that holds the
 * most places (that task is refused), so a flood from one key cannot shut the others out; if no key
 * holds more than the newcomer's would, the newcomer is refused. A refused task never runs.
 *
 * Tasks that must not be refused (`mayRefuse: false`) always get a place; they do not count
 * against the line's size (their callers must be bounded by other means). Tasks marked `first`
 * (never refused either) go ahead of the others, in turn between their keys: they get every other
 * turn while others wait, so no stream of them, however steady, keeps the others waiting for ever.
 */
export interface FairGateOptions {
  concurrency: number;
  /** Refusable tasks waiting at most. */
  maxWaiting: number;
}

/** The line was full: the task did not run. */
export class GateFullError extends Error {
  constructor() {
    super('too many tasks waiting');
  }
}

interface Waiter {
  mayRefuse: boolean;
  start(): void;
  refuse(): void;
}

export class FairGate {
  private running = 0;
  private refusable = 0;
  /** Waiting tasks by key; the map's order is the order in which keys get their next turn. */
  private readonly lines = new Map<string, Waiter[]>();
  /** The same, for tasks served first. */
  private readonly firstLines = new Map<string, Waiter[]>();
  /** Whether the next turn, when both kinds wait, is a task served first's. */
  private firstsTurn = true;

  constructor(private readonly o: FairGateOptions) {}

  /** Runs `task` in its turn; rejects with GateFullError, without running it, when refused. */
  run<T>(key: string, task: () => Promise<T>, mayRefuse = true, first = false): Promise<T> {
    if (first) mayRefuse = false;
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.running++;
        Promise.resolve().then(task).then(resolve, reject).finally(() => {
          this.running--;
          this.next();
        });
      };
      if (this.running < this.o.concurrency && this.lines.size === 0 && this.firstLines.size === 0) {
        start();
        return;
      }
      if (mayRefuse && this.refusable >= this.o.maxWaiting && !this.makeRoom(key)) {
        reject(new GateFullError());
        return;
      }
      const lines = first ? this.firstLines : this.lines;
      const line = lines.get(key);
      const w: Waiter = { mayRefuse, start, refuse: () => reject(new GateFullError()) };
      if (line) line.push(w); else lines.set(key, [w]);
      if (mayRefuse) this.refusable++;
    });
  }

  /** Tasks running and waiting now. */
  get load(): { running: number; waiting: number } {
    let waiting = 0;
    for (const line of [...this.firstLines.values(), ...this.lines.values()]) waiting += line.length;
    return { running: this.running, waiting };
  }

  /** Starts waiting tasks while there is room, one per key in turn, those served first and the others taking turns. */
  private next(): void {
    while (this.running < this.o.concurrency) {
      const useFirst = this.firstLines.size > 0 && (this.lines.size === 0 || this.firstsTurn);
      this.firstsTurn = !useFirst;
      const lines = useFirst ? this.firstLines : this.lines;
      const first = lines.entries().next();
      if (first.done) return;
      const [key, line] = first.value;
      const w = line.shift() as Waiter;
      // To the back of the round, or out of it when its line is empty.
      lines.delete(key);
      if (line.length > 0) lines.set(key, line);
      if (w.mayRefuse) this.refusable--;
      w.start();
    }
  }

  /** Refuses the newest refusable task of the fullest line when that line holds over one more than `key`'s. */
  private makeRoom(key: string): boolean {
    const count = (line: Waiter[] | undefined): number => (line ?? []).filter((w) => w.mayRefuse).length;
    let fullest: Waiter[] | undefined;
    let most = 0;
    for (const line of this.lines.values()) {
      const n = count(line);
      if (n > most) { most = n; fullest = line; }
    }
    if (!fullest || most <= count(this.lines.get(key)) + 1) return false;
    const at = fullest.findLastIndex((w) => w.mayRefuse);
    const [dropped] = fullest.splice(at, 1);
    this.refusable--;
    // The fullest line held two or more, so it still waits for its turn.
    dropped.refuse();
    return true;
  }
}
