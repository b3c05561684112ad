// A service's state, replaced (never mutated) on every change, and the listeners told of each change.
// Stores mirror it; nothing here knows of them.

export type Listener<S> = (state: S, previous: S) => void;

export class Observable<S extends object> {
  private current: S;
  private readonly observers = new Set<Listener<S>>();

  constructor(initial: S) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  subscribe(listener: Listener<S>): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  protected update(patch: Partial<S>): void {
    const previous = this.current;
    this.current = { ...previous, ...patch };
    for (const l of this.observers) l(this.current, previous);
  }
}
